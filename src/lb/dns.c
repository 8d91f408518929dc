/* DNS queries and responses on the wire (RFC 1035 sections 4.1-4.2, RFC 3596 for AAAA,
 * RFC 6891 for the OPT record). Names are compared in uncompressed wire form, lowercased;
 * compression pointers must point before the name segment that holds them, so no response can
 * make the decoder loop. */
#include "lb/dns.h"

#include <string.h>
#include <sys/socket.h>

#define HDR_LEN 12
#define NAME_MAX_WIRE 255 /* RFC 1035 2.3.4, including the root label */
#define MAX_HOPS 64       /* compression pointers followed within one name */

#define FLAG_QR 0x8000
#define FLAG_TC 0x0200
#define FLAG_RD 0x0100

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* A text host name to lowercased wire form in out[NAME_MAX_WIRE]. Length or -1. */
static int encode_name(const char *text, uint8_t *out)
{
    size_t tlen = strlen(text);
    if (tlen && text[tlen - 1] == '.')
        tlen--; /* the root label is implied */
    if (tlen == 0 || tlen > 253)
        return -1;
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= tlen; i++) {
        if (i < tlen && text[i] != '.')
            continue;
        size_t l = i - start;
        if (l == 0 || l > 63)
            return -1;
        out[n++] = (uint8_t)l;
        for (size_t k = 0; k < l; k++)
            out[n++] = lower((uint8_t)text[start + k]);
        start = i + 1;
    }
    out[n++] = 0;
    return (int)n;
}

/* Decode the (possibly compressed) name at pkt[off] into lowercased wire form out[NAME_MAX_WIRE]
 * with its length in *outlen; *next is the offset just past the name where it is stored. Each
 * pointer must point before the segment it ends (so the walk strictly moves backwards); labels
 * of type 01/10 are refused. 0 or -1. */
static int read_name(const uint8_t *pkt, size_t len, size_t off, uint8_t *out, size_t *outlen,
                     size_t *next)
{
    size_t pos = off, seg_start = off, n = 0;
    bool jumped = false;
    unsigned hops = 0;
    for (;;) {
        if (pos >= len)
            return -1;
        uint8_t c = pkt[pos];
        if ((c & 0xC0) == 0xC0) {
            if (pos + 1 >= len)
                return -1;
            size_t target = ((size_t)(c & 0x3F) << 8) | pkt[pos + 1];
            if (!jumped) {
                *next = pos + 2;
                jumped = true;
            }
            if (target >= seg_start || ++hops > MAX_HOPS)
                return -1;
            pos = seg_start = target;
            continue;
        }
        if (c & 0xC0)
            return -1;
        if (c == 0) {
            out[n++] = 0;
            if (!jumped)
                *next = pos + 1;
            *outlen = n;
            return 0;
        }
        if (c > len - pos - 1 || n + 1 + c + 1 > NAME_MAX_WIRE)
            return -1;
        out[n++] = c;
        for (size_t k = 0; k < c; k++)
            out[n++] = lower(pkt[pos + 1 + k]);
        pos += 1 + (size_t)c;
    }
}

ssize_t rp_dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype,
                           bool edns)
{
    uint8_t wire[NAME_MAX_WIRE];
    int wl = encode_name(name, wire);
    if (wl < 0)
        return -1;
    size_t need = HDR_LEN + (size_t)wl + 4 + (edns ? 11 : 0);
    if (cap < need)
        return -1;
    memset(buf, 0, HDR_LEN);
    put16(buf, id);
    put16(buf + 2, FLAG_RD);
    put16(buf + 4, 1);             /* QDCOUNT */
    put16(buf + 10, edns ? 1 : 0); /* ARCOUNT */
    memcpy(buf + HDR_LEN, wire, (size_t)wl);
    uint8_t *p = buf + HDR_LEN + wl;
    put16(p, qtype);
    put16(p + 2, RP_DNS_CLASS_IN);
    if (edns) {
        p += 4;
        p[0] = 0; /* root owner */
        put16(p + 1, RP_DNS_TYPE_OPT);
        put16(p + 3, RP_DNS_EDNS_SIZE); /* the class field carries the payload size */
        memset(p + 5, 0, 6);            /* extended RCODE, version, flags, RDLENGTH */
    }
    return (ssize_t)need;
}

/* The answer section walk shared by both passes. */
struct walk {
    const uint8_t *pkt;
    size_t len, start; /* start: first answer record */
    uint16_t ancount, qtype;
    bool truncated;
    uint8_t names[RP_DNS_MAX_CNAMES + 1][NAME_MAX_WIRE]; /* the query name, then aliases */
    size_t namelen[RP_DNS_MAX_CNAMES + 1];
    unsigned nnames;
};

static bool known(const struct walk *w, const uint8_t *name, size_t n)
{
    for (unsigned i = 0; i < w->nnames; i++)
        if (w->namelen[i] == n && !memcmp(w->names[i], name, n))
            return true;
    return false;
}

static void add_addr(struct rp_dns_result *out, int family, const uint8_t *bytes, uint32_t ttl)
{
    size_t n = family == AF_INET ? 4 : 16;
    for (uint32_t i = 0; i < out->naddrs; i++) {
        struct rp_dns_addr *a = &out->addrs[i];
        if (a->family == family && !memcmp(a->bytes, bytes, n)) {
            if (ttl < a->ttl)
                a->ttl = ttl;
            return;
        }
    }
    if (out->naddrs == RP_DNS_MAX_ADDRS) {
        out->ndropped++;
        return;
    }
    struct rp_dns_addr *a = &out->addrs[out->naddrs++];
    memset(a, 0, sizeof(*a));
    a->family = family;
    memcpy(a->bytes, bytes, n);
    a->ttl = ttl;
}

/* One pass over the answers. collect false: learn CNAME targets of known owners (*grew says
 * whether one was added). collect true: gather the qtype records of known owners into out.
 * A record cut short ends the walk quietly when TC is set, else the response is malformed.
 * 0 or -1. */
static int walk_answers(struct walk *w, bool collect, bool *grew, struct rp_dns_result *out)
{
    size_t pos = w->start;
    uint8_t owner[NAME_MAX_WIRE], target[NAME_MAX_WIRE];
    for (unsigned i = 0; i < w->ancount; i++) {
        size_t olen, after;
        if (read_name(w->pkt, w->len, pos, owner, &olen, &after) < 0 || w->len - after < 10)
            return w->truncated ? 0 : -1;
        const uint8_t *fixed = w->pkt + after;
        uint16_t type = get16(fixed), cls = get16(fixed + 2), rdlen = get16(fixed + 8);
        uint32_t ttl = get32(fixed + 4);
        if (ttl & 0x80000000u)
            ttl = 0;
        size_t rdata = after + 10;
        if (rdlen > w->len - rdata)
            return w->truncated ? 0 : -1;
        pos = rdata + rdlen;
        if (cls != RP_DNS_CLASS_IN || !known(w, owner, olen))
            continue;
        if (type == RP_DNS_TYPE_CNAME) {
            size_t tlen, tend;
            if (read_name(w->pkt, w->len, rdata, target, &tlen, &tend) < 0 || tend != pos)
                return -1;
            if (collect) {
                if (ttl < out->min_ttl)
                    out->min_ttl = ttl;
            } else if (!known(w, target, tlen) && w->nnames <= RP_DNS_MAX_CNAMES) {
                memcpy(w->names[w->nnames], target, tlen);
                w->namelen[w->nnames++] = tlen;
                *grew = true;
            }
            continue;
        }
        if (!collect || type != w->qtype)
            continue;
        size_t want = type == RP_DNS_TYPE_A ? 4 : 16;
        if (rdlen != want)
            return -1;
        add_addr(out, type == RP_DNS_TYPE_A ? AF_INET : AF_INET6, w->pkt + rdata, ttl);
        if (ttl < out->min_ttl)
            out->min_ttl = ttl;
    }
    return 0;
}

enum rp_dns_status rp_dns_parse_response(const uint8_t *pkt, size_t len, uint16_t id,
                                         const char *name, uint16_t qtype,
                                         struct rp_dns_result *out)
{
    out->naddrs = out->ndropped = 0;
    out->min_ttl = UINT32_MAX;
    out->truncated = false;
    out->rcode = 0;
    struct walk w = {.pkt = pkt, .len = len, .qtype = qtype};
    int ql = encode_name(name, w.names[0]);
    if (ql < 0 || len < HDR_LEN)
        return out->status = ql < 0 ? RP_DNS_MISMATCH : RP_DNS_MALFORMED;
    w.namelen[0] = (size_t)ql;
    w.nnames = 1;

    uint16_t flags = get16(pkt + 2);
    if (get16(pkt) != id || !(flags & FLAG_QR) || ((flags >> 11) & 0xF) != 0)
        return out->status = RP_DNS_MISMATCH;
    out->rcode = (uint8_t)(flags & 0xF);
    w.truncated = out->truncated = (flags & FLAG_TC) != 0;
    if (get16(pkt + 4) != 1)
        return out->status = RP_DNS_MISMATCH;
    w.ancount = get16(pkt + 6);

    uint8_t qn[NAME_MAX_WIRE];
    size_t qnlen, after;
    if (read_name(pkt, len, HDR_LEN, qn, &qnlen, &after) < 0 || len - after < 4)
        return out->status = RP_DNS_MALFORMED;
    if (qnlen != (size_t)ql || memcmp(qn, w.names[0], qnlen) != 0 || get16(pkt + after) != qtype ||
        get16(pkt + after + 2) != RP_DNS_CLASS_IN)
        return out->status = RP_DNS_MISMATCH;
    w.start = after + 4;

    switch (out->rcode) {
    case 0:
        break;
    case 2:
        return out->status = RP_DNS_SERVFAIL;
    case 3:
        return out->status = RP_DNS_NXDOMAIN;
    default:
        return out->status = RP_DNS_RCODE;
    }

    /* aliases first (a chain may be listed in any order), then the records of every name */
    bool grew = true;
    for (unsigned pass = 0; grew && pass <= RP_DNS_MAX_CNAMES; pass++) {
        grew = false;
        if (walk_answers(&w, false, &grew, out) < 0)
            return out->status = RP_DNS_MALFORMED;
    }
    if (walk_answers(&w, true, &grew, out) < 0) {
        out->naddrs = out->ndropped = 0;
        out->min_ttl = UINT32_MAX;
        return out->status = RP_DNS_MALFORMED;
    }
    return out->status = RP_DNS_OK;
}

const char *rp_dns_status_name(enum rp_dns_status st)
{
    switch (st) {
    case RP_DNS_OK:
        return "ok";
    case RP_DNS_NXDOMAIN:
        return "NXDOMAIN";
    case RP_DNS_SERVFAIL:
        return "SERVFAIL";
    case RP_DNS_RCODE:
        return "error rcode";
    case RP_DNS_MISMATCH:
        return "mismatched response";
    case RP_DNS_MALFORMED:
        return "malformed response";
    }
    return "?";
}
