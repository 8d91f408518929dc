/* Unit tests for the DNS wire format (src/lb/dns.c): queries byte for byte, and hand-built
 * responses: compression, CNAME chains, truncation, bad lengths, pointer loops, mismatches. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lb/dns.h"
#include "test.h"

/* ---- a tiny packet writer ---- */

struct pk {
    uint8_t b[8192];
    size_t n;
};

static void u8(struct pk *p, unsigned v)
{
    p->b[p->n++] = (uint8_t)v;
}

static void u16(struct pk *p, unsigned v)
{
    u8(p, v >> 8);
    u8(p, v & 0xff);
}

static void u32(struct pk *p, uint32_t v)
{
    u16(p, v >> 16);
    u16(p, v & 0xffff);
}

/* Labels of text ("a.b") without the terminating root label. */
static void labels(struct pk *p, const char *text)
{
    while (*text) {
        const char *dot = strchr(text, '.');
        size_t l = dot ? (size_t)(dot - text) : strlen(text);
        u8(p, (unsigned)l);
        memcpy(p->b + p->n, text, l);
        p->n += l;
        text += l + (dot ? 1 : 0);
    }
}

static void name(struct pk *p, const char *text)
{
    labels(p, text);
    u8(p, 0);
}

static void ptr(struct pk *p, unsigned off)
{
    u16(p, 0xC000 | off);
}

/* Header and the question (name written out at offset 12). */
static void head(struct pk *p, unsigned id, unsigned flags, unsigned an, const char *q,
                 unsigned qtype)
{
    p->n = 0;
    u16(p, id);
    u16(p, flags);
    u16(p, 1);
    u16(p, an);
    u16(p, 0);
    u16(p, 0);
    name(p, q);
    u16(p, qtype);
    u16(p, RP_DNS_CLASS_IN);
}

/* Type, class IN, TTL, and RDLENGTH of a record whose owner was just written. */
static void rr(struct pk *p, unsigned type, uint32_t ttl, unsigned rdlen)
{
    u16(p, type);
    u16(p, RP_DNS_CLASS_IN);
    u32(p, ttl);
    u16(p, rdlen);
}

static void a_rdata(struct pk *p, const char *ip)
{
    struct in_addr a;
    inet_pton(AF_INET, ip, &a);
    memcpy(p->b + p->n, &a, 4);
    p->n += 4;
}

#define RESP 0x8180 /* QR, RD, RA, RCODE 0 */

static struct rp_dns_result res;

static enum rp_dns_status parse(const struct pk *p, unsigned id, const char *q, unsigned qtype)
{
    return rp_dns_parse_response(p->b, p->n, (uint16_t)id, q, (uint16_t)qtype, &res);
}

static bool has_v4(const char *ip, uint32_t ttl)
{
    struct in_addr a;
    inet_pton(AF_INET, ip, &a);
    for (uint32_t i = 0; i < res.naddrs; i++)
        if (res.addrs[i].family == AF_INET && !memcmp(res.addrs[i].bytes, &a, 4) &&
            res.addrs[i].ttl == ttl)
            return true;
    return false;
}

/* ---- tests ---- */

static void test_query_bytes(void)
{
    uint8_t buf[RP_DNS_QUERY_MAX];
    ssize_t n = rp_dns_build_query(buf, sizeof(buf), 0xBEEF, "App.Internal", RP_DNS_TYPE_A, true);
    static const uint8_t want[] = {0xBE, 0xEF, 0x01, 0x00, 0,   1, 0,   0,   0,   0,   0,
                                   1,    3,    'a',  'p',  'p', 8, 'i', 'n', 't', 'e', 'r',
                                   'n',  'a',  'l',  0,    0,   1, 0,   1,   0,   0,   41,
                                   0x04, 0xD0, 0,    0,    0,   0, 0,   0};
    CHECK_INT(n, sizeof(want));
    CHECK(n == (ssize_t)sizeof(want) && !memcmp(buf, want, sizeof(want)));

    n = rp_dns_build_query(buf, sizeof(buf), 7, "x.example.", RP_DNS_TYPE_AAAA, false);
    CHECK_INT(n, 12 + 11 + 4);
    CHECK_INT(buf[11], 0); /* no OPT */
    CHECK_INT(buf[n - 3], 28);

    char longlabel[80], longname[300];
    memset(longlabel, 'a', 64);
    longlabel[64] = 0;
    for (int i = 0; i < 254; i++)
        longname[i] = (i % 10 == 9) ? '.' : 'b';
    longname[254] = 0;
    CHECK_INT(rp_dns_build_query(buf, sizeof(buf), 1, "", RP_DNS_TYPE_A, true), -1);
    CHECK_INT(rp_dns_build_query(buf, sizeof(buf), 1, ".", RP_DNS_TYPE_A, true), -1);
    CHECK_INT(rp_dns_build_query(buf, sizeof(buf), 1, "a..b", RP_DNS_TYPE_A, true), -1);
    CHECK_INT(rp_dns_build_query(buf, sizeof(buf), 1, ".a", RP_DNS_TYPE_A, true), -1);
    CHECK_INT(rp_dns_build_query(buf, sizeof(buf), 1, longlabel, RP_DNS_TYPE_A, true), -1);
    CHECK_INT(rp_dns_build_query(buf, sizeof(buf), 1, longname, RP_DNS_TYPE_A, true), -1);
    CHECK_INT(rp_dns_build_query(buf, 20, 1, "app.internal", RP_DNS_TYPE_A, true), -1);
    longlabel[63] = 0;
    CHECK(rp_dns_build_query(buf, sizeof(buf), 1, longlabel, RP_DNS_TYPE_A, true) > 0);
}

static void test_simple_compressed(void)
{
    struct pk p;
    head(&p, 0x1234, RESP, 2, "app.test", RP_DNS_TYPE_A);
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_A, 30, 4);
    a_rdata(&p, "127.0.0.2");
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_A, 5, 4);
    a_rdata(&p, "127.0.0.3");
    u8(&p, 0xAA); /* trailing bytes (an additional section we did not ask to read) */
    CHECK_INT(parse(&p, 0x1234, "APP.Test.", RP_DNS_TYPE_A), RP_DNS_OK);
    CHECK_INT(res.naddrs, 2);
    CHECK(has_v4("127.0.0.2", 30));
    CHECK(has_v4("127.0.0.3", 5));
    CHECK_INT(res.min_ttl, 5);
    CHECK(!res.truncated);
}

static void test_aaaa_and_case(void)
{
    struct pk p;
    head(&p, 9, RESP, 2, "V6.Test", RP_DNS_TYPE_AAAA);
    name(&p, "v6.TEST");                       /* uncompressed owner, other case */
    rr(&p, RP_DNS_TYPE_AAAA, 0x80000001u, 16); /* top bit set: TTL 0 */
    struct in6_addr a6;
    inet_pton(AF_INET6, "2001:db8::1", &a6);
    memcpy(p.b + p.n, &a6, 16);
    p.n += 16;
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_A, 50, 4); /* an A record in an AAAA answer: ignored */
    a_rdata(&p, "10.0.0.1");
    CHECK_INT(parse(&p, 9, "v6.test", RP_DNS_TYPE_AAAA), RP_DNS_OK);
    CHECK_INT(res.naddrs, 1);
    CHECK_INT(res.addrs[0].family, AF_INET6);
    CHECK(!memcmp(res.addrs[0].bytes, &a6, 16));
    CHECK_INT(res.min_ttl, 0);
}

static void test_cname_chain(void)
{
    /* app.test CNAME x.example.com; x.example.com CNAME y.example.com; y.example.com A;
     * plus an unrelated A record that must not be taken */
    struct pk p;
    head(&p, 5, RESP, 4, "app.test", RP_DNS_TYPE_A);
    size_t x = p.n;
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_CNAME, 300, 15);
    size_t xname = p.n;
    name(&p, "x.example.com"); /* 15 bytes */
    (void)x;
    ptr(&p, (unsigned)xname);
    rr(&p, RP_DNS_TYPE_CNAME, 60, 4);
    u8(&p, 1);
    u8(&p, 'y');
    ptr(&p, (unsigned)xname + 2); /* "example.com" */
    size_t yname = p.n - 4;
    ptr(&p, (unsigned)yname);
    rr(&p, RP_DNS_TYPE_A, 120, 4);
    a_rdata(&p, "192.0.2.7");
    name(&p, "evil.test");
    rr(&p, RP_DNS_TYPE_A, 1, 4);
    a_rdata(&p, "203.0.113.9");
    CHECK_INT(parse(&p, 5, "app.test", RP_DNS_TYPE_A), RP_DNS_OK);
    CHECK_INT(res.naddrs, 1);
    CHECK(has_v4("192.0.2.7", 120));
    CHECK_INT(res.min_ttl, 60); /* the chain is only as fresh as its shortest link */
}

static void test_cname_reverse_order(void)
{
    /* the address first, then the aliases leading to it */
    struct pk p;
    head(&p, 6, RESP, 3, "a.test", RP_DNS_TYPE_A);
    name(&p, "c.test");
    rr(&p, RP_DNS_TYPE_A, 40, 4);
    a_rdata(&p, "192.0.2.1");
    name(&p, "b.test");
    rr(&p, RP_DNS_TYPE_CNAME, 40, 8);
    name(&p, "c.test");
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_CNAME, 40, 8);
    name(&p, "b.test");
    CHECK_INT(parse(&p, 6, "a.test", RP_DNS_TYPE_A), RP_DNS_OK);
    CHECK_INT(res.naddrs, 1);
    CHECK(has_v4("192.0.2.1", 40));

    /* an alias of some other name does not make its records ours */
    head(&p, 6, RESP, 2, "a.test", RP_DNS_TYPE_A);
    name(&p, "other.test");
    rr(&p, RP_DNS_TYPE_CNAME, 40, 8);
    name(&p, "a.test"); /* other -> a: says nothing about a's own records */
    name(&p, "other.test");
    rr(&p, RP_DNS_TYPE_A, 40, 4);
    a_rdata(&p, "192.0.2.66");
    CHECK_INT(parse(&p, 6, "a.test", RP_DNS_TYPE_A), RP_DNS_OK);
    CHECK_INT(res.naddrs, 0);
    CHECK_INT(res.min_ttl, UINT32_MAX);
}

static void test_truncated(void)
{
    struct pk p;
    head(&p, 7, RESP | 0x0200, 3, "app.test", RP_DNS_TYPE_A);
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_A, 10, 4);
    a_rdata(&p, "127.0.0.2");
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_A, 10, 4);
    u8(&p, 127); /* cut in the middle of the rdata */
    CHECK_INT(parse(&p, 7, "app.test", RP_DNS_TYPE_A), RP_DNS_OK);
    CHECK(res.truncated);
    CHECK_INT(res.naddrs, 1);
    CHECK(has_v4("127.0.0.2", 10));

    p.b[2] &= (uint8_t)~0x02; /* the same bytes without TC: malformed */
    CHECK_INT(parse(&p, 7, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    CHECK_INT(res.naddrs, 0);

    /* TC with the cut inside an owner name */
    head(&p, 7, RESP | 0x0200, 2, "app.test", RP_DNS_TYPE_A);
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_A, 10, 4);
    a_rdata(&p, "127.0.0.4");
    u8(&p, 0xC0);
    CHECK_INT(parse(&p, 7, "app.test", RP_DNS_TYPE_A), RP_DNS_OK);
    CHECK_INT(res.naddrs, 1);
}

static void test_malformed(void)
{
    struct pk p;
    /* shorter than a header */
    head(&p, 1, RESP, 0, "app.test", RP_DNS_TYPE_A);
    CHECK_INT(rp_dns_parse_response(p.b, 11, 1, "app.test", RP_DNS_TYPE_A, &res), RP_DNS_MALFORMED);
    CHECK_INT(rp_dns_parse_response(p.b, 0, 1, "app.test", RP_DNS_TYPE_A, &res), RP_DNS_MALFORMED);
    /* question cut short */
    CHECK_INT(rp_dns_parse_response(p.b, p.n - 1, 1, "app.test", RP_DNS_TYPE_A, &res),
              RP_DNS_MALFORMED);
    CHECK_INT(rp_dns_parse_response(p.b, 16, 1, "app.test", RP_DNS_TYPE_A, &res), RP_DNS_MALFORMED);
    /* RDLENGTH past the end */
    head(&p, 1, RESP, 1, "app.test", RP_DNS_TYPE_A);
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_A, 10, 400);
    a_rdata(&p, "127.0.0.2");
    CHECK_INT(parse(&p, 1, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    /* an A record with 5 bytes of data */
    head(&p, 1, RESP, 1, "app.test", RP_DNS_TYPE_A);
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_A, 10, 5);
    a_rdata(&p, "127.0.0.2");
    u8(&p, 0);
    CHECK_INT(parse(&p, 1, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    /* ANCOUNT larger than the records present, no TC */
    head(&p, 1, RESP, 2, "app.test", RP_DNS_TYPE_A);
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_A, 10, 4);
    a_rdata(&p, "127.0.0.2");
    CHECK_INT(parse(&p, 1, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    /* a label length running past the end */
    head(&p, 1, RESP, 1, "app.test", RP_DNS_TYPE_A);
    u8(&p, 60);
    u8(&p, 'a');
    CHECK_INT(parse(&p, 1, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    /* reserved label types 01 and 10 */
    head(&p, 1, RESP, 1, "app.test", RP_DNS_TYPE_A);
    u8(&p, 0x41);
    u8(&p, 0);
    rr(&p, RP_DNS_TYPE_A, 10, 4);
    a_rdata(&p, "127.0.0.2");
    CHECK_INT(parse(&p, 1, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    /* a decoded name over 255 bytes built from pointers to earlier labels */
    head(&p, 1, RESP, 1, "app.test", RP_DNS_TYPE_A);
    size_t seg[6];
    for (int i = 0; i < 6; i++) {
        seg[i] = p.n;
        u8(&p, 60);
        for (int k = 0; k < 60; k++)
            u8(&p, 'z');
        if (i == 0)
            u8(&p, 0);
        else
            ptr(&p, (unsigned)seg[i - 1]);
    }
    ptr(&p, (unsigned)seg[5]);
    rr(&p, RP_DNS_TYPE_A, 10, 4);
    a_rdata(&p, "127.0.0.2");
    CHECK_INT(parse(&p, 1, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    /* a CNAME whose target runs past its RDLENGTH */
    head(&p, 1, RESP, 1, "app.test", RP_DNS_TYPE_A);
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_CNAME, 10, 3);
    name(&p, "b.test");
    CHECK_INT(parse(&p, 1, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
}

static void test_pointer_loops(void)
{
    struct pk p;
    /* a pointer to itself */
    head(&p, 2, RESP, 1, "app.test", RP_DNS_TYPE_A);
    ptr(&p, (unsigned)p.n);
    rr(&p, RP_DNS_TYPE_A, 10, 4);
    a_rdata(&p, "127.0.0.2");
    CHECK_INT(parse(&p, 2, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    /* a pointer forwards */
    head(&p, 2, RESP, 1, "app.test", RP_DNS_TYPE_A);
    ptr(&p, (unsigned)p.n + 2);
    u8(&p, 0);
    rr(&p, RP_DNS_TYPE_A, 10, 4);
    a_rdata(&p, "127.0.0.2");
    CHECK_INT(parse(&p, 2, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    /* a label then a pointer back to that label: a -> a -> a ... */
    head(&p, 2, RESP, 1, "app.test", RP_DNS_TYPE_A);
    size_t lab = p.n;
    u8(&p, 1);
    u8(&p, 'a');
    ptr(&p, (unsigned)lab);
    rr(&p, RP_DNS_TYPE_A, 10, 4);
    a_rdata(&p, "127.0.0.2");
    CHECK_INT(parse(&p, 2, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    /* two pointers to each other, reached through a third */
    head(&p, 2, RESP, 2, "app.test", RP_DNS_TYPE_A);
    size_t p1 = p.n;
    ptr(&p, (unsigned)p1 + 2); /* forward: refused at once */
    ptr(&p, (unsigned)p1);
    rr(&p, RP_DNS_TYPE_A, 10, 4);
    a_rdata(&p, "127.0.0.2");
    CHECK_INT(parse(&p, 2, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    /* a pointer in the question to itself */
    p.n = 0;
    u16(&p, 2);
    u16(&p, RESP);
    u16(&p, 1);
    u16(&p, 0);
    u16(&p, 0);
    u16(&p, 0);
    ptr(&p, 12);
    u16(&p, RP_DNS_TYPE_A);
    u16(&p, 1);
    CHECK_INT(parse(&p, 2, "app.test", RP_DNS_TYPE_A), RP_DNS_MALFORMED);
    /* CNAME loop a -> b -> a: terminates, no address */
    head(&p, 2, RESP, 2, "a.test", RP_DNS_TYPE_A);
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_CNAME, 10, 8);
    name(&p, "b.test");
    name(&p, "b.test");
    rr(&p, RP_DNS_TYPE_CNAME, 10, 2);
    ptr(&p, 12);
    CHECK_INT(parse(&p, 2, "a.test", RP_DNS_TYPE_A), RP_DNS_OK);
    CHECK_INT(res.naddrs, 0);
}

static void test_mismatch_and_rcodes(void)
{
    struct pk p;
    head(&p, 0x4242, RESP, 0, "app.test", RP_DNS_TYPE_A);
    CHECK_INT(parse(&p, 0x4243, "app.test", RP_DNS_TYPE_A), RP_DNS_MISMATCH); /* id */
    CHECK_INT(parse(&p, 0x4242, "app2.test", RP_DNS_TYPE_A), RP_DNS_MISMATCH);
    CHECK_INT(parse(&p, 0x4242, "app.test", RP_DNS_TYPE_AAAA), RP_DNS_MISMATCH);
    CHECK_INT(parse(&p, 0x4242, "app.test", RP_DNS_TYPE_A), RP_DNS_OK); /* NODATA */
    CHECK_INT(res.naddrs, 0);
    head(&p, 0x4242, 0x0100, 0, "app.test", RP_DNS_TYPE_A); /* a query, not a response */
    CHECK_INT(parse(&p, 0x4242, "app.test", RP_DNS_TYPE_A), RP_DNS_MISMATCH);
    head(&p, 0x4242, RESP | 0x2000, 0, "app.test", RP_DNS_TYPE_A); /* opcode 4 */
    CHECK_INT(parse(&p, 0x4242, "app.test", RP_DNS_TYPE_A), RP_DNS_MISMATCH);
    head(&p, 0x4242, RESP, 0, "app.test", RP_DNS_TYPE_A);
    p.b[5] = 2; /* QDCOUNT 2 */
    CHECK_INT(parse(&p, 0x4242, "app.test", RP_DNS_TYPE_A), RP_DNS_MISMATCH);
    head(&p, 0x4242, RESP, 0, "app.test", RP_DNS_TYPE_A);
    p.b[p.n - 1] = 3; /* class CH */
    CHECK_INT(parse(&p, 0x4242, "app.test", RP_DNS_TYPE_A), RP_DNS_MISMATCH);

    head(&p, 0x4242, RESP | 3, 0, "app.test", RP_DNS_TYPE_A);
    CHECK_INT(parse(&p, 0x4242, "app.test", RP_DNS_TYPE_A), RP_DNS_NXDOMAIN);
    head(&p, 0x4242, RESP | 2, 0, "app.test", RP_DNS_TYPE_A);
    CHECK_INT(parse(&p, 0x4242, "app.test", RP_DNS_TYPE_A), RP_DNS_SERVFAIL);
    head(&p, 0x4242, RESP | 5, 0, "app.test", RP_DNS_TYPE_A);
    CHECK_INT(parse(&p, 0x4242, "app.test", RP_DNS_TYPE_A), RP_DNS_RCODE);
    CHECK_INT(res.rcode, 5);
    CHECK(strcmp(rp_dns_status_name(RP_DNS_NXDOMAIN), "NXDOMAIN") == 0);
}

static void test_duplicates_and_overflow(void)
{
    struct pk p;
    head(&p, 3, RESP, 70 + 1, "many.test", RP_DNS_TYPE_A);
    for (int i = 0; i < 70; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250 + 1);
        ptr(&p, 12);
        rr(&p, RP_DNS_TYPE_A, 100 + (uint32_t)i, 4);
        a_rdata(&p, ip);
    }
    ptr(&p, 12);
    rr(&p, RP_DNS_TYPE_A, 7, 4); /* a repeat of the first, with a smaller TTL */
    a_rdata(&p, "10.0.0.1");
    CHECK_INT(parse(&p, 3, "many.test", RP_DNS_TYPE_A), RP_DNS_OK);
    CHECK_INT(res.naddrs, RP_DNS_MAX_ADDRS);
    CHECK_INT(res.ndropped, 70 - RP_DNS_MAX_ADDRS);
    CHECK(has_v4("10.0.0.1", 7));
    CHECK_INT(res.min_ttl, 7);
}

static void test_roundtrip_query_as_response(void)
{
    /* a query echoed back with QR set parses as an empty answer */
    uint8_t buf[RP_DNS_QUERY_MAX];
    ssize_t n = rp_dns_build_query(buf, sizeof(buf), 77, "echo.test", RP_DNS_TYPE_AAAA, true);
    CHECK(n > 0);
    buf[2] |= 0x80;
    CHECK_INT(rp_dns_parse_response(buf, (size_t)n, 77, "echo.test", RP_DNS_TYPE_AAAA, &res),
              RP_DNS_OK);
    CHECK_INT(res.naddrs, 0);
}

int main(void)
{
    RUN(test_query_bytes);
    RUN(test_simple_compressed);
    RUN(test_aaaa_and_case);
    RUN(test_cname_chain);
    RUN(test_cname_reverse_order);
    RUN(test_truncated);
    RUN(test_malformed);
    RUN(test_pointer_loops);
    RUN(test_mismatch_and_rcodes);
    RUN(test_duplicates_and_overflow);
    RUN(test_roundtrip_query_as_response);
    TEST_MAIN_END();
}
