/* Strict HTTP/1.1 head parser (RFC 9112). Finds the end of the head incrementally (linear over
 * all calls), then parses the complete head in one pass into rp_msg slices. Every framing
 * ambiguity of RFC 9112 sections 6.3 and 11 is an error, never a guess. */
#include "http/h1_parse.h"

#include <stdint.h>

#include "http/ctype.h"

#define DEF_MAX_LINE 8192
#define DEF_MAX_HEAD 65536
/* RFC 9112 2.2 asks servers to ignore at least one empty line before a request line (old clients
 * sent CRLF after a POST body). A few are tolerated; a stream of them is abuse. */
#define MAX_LEADING_EMPTY 8

/* Internal results of the shared steps, mapped to a status per direction by the callers. */
#define E_SYNTAX (-1)
#define E_LINE (-2)
#define E_HEAD (-3)
#define E_COUNT (-4)

struct lims {
    size_t line;
    size_t head;
    uint32_t hdrs;
};

/* Facts about the framing and connection fields, gathered during the single walk of the fields so
 * nothing re-scans them. */
struct fields {
    uint32_t ncl, nte, nhost, nchunked, ncodings;
    uint64_t cl;
    bool cl_bad, te_bad, te_unknown, te_last_chunked, host_bad;
    bool conn_close, conn_keep_alive, conn_upgrade, has_conn, has_upgrade, expect_continue;
    struct rp_slice host;
};

/* Path of an absolute-form target without a path component ("http://h?q" means "/"). */
static const char root_path[] = "/";

/* Case-insensitive compare with a lowercase literal made of letters, digits and '-'. Folding with
 * | 0x20 is exact for the bytes that reach here: the only other bytes folding onto such literal
 * bytes are control bytes, which the byte classes have already refused. */
static inline bool lc_eq(struct rp_slice s, const char *lit, size_t n)
{
    if (s.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s.p[i] | 0x20) != (unsigned char)lit[i])
            return false;
    return true;
}
#define LC_EQ(s, lit) lc_eq((s), (lit), sizeof(lit) - 1)

/* Eight bytes at a time over the long runs (values, targets): a word is skipped whole when none
 * of its bytes needs a closer look; the byte loop after it decides the rest exactly. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
#define HAS_LESS(x, n) (((x)-ONES * (n)) & ~(x)&HIGHS) /* a byte < n (n <= 128) */
#define HAS_ZERO(x) (((x)-ONES) & ~(x)&HIGHS)

static inline uint64_t load8(const char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof(x));
    return x;
}

/* Skips 8-byte words of value bytes without HTAB: 0x20-0x7E and obs-text. */
static inline const char *skip_value_words(const char *p, const char *lim)
{
    while (lim - p >= 8) {
        uint64_t x = load8(p);
        if (HAS_LESS(x, 0x20) | HAS_ZERO(x ^ (ONES * 0x7f)))
            break;
        p += 8;
    }
    return p;
}

/* Skips 8-byte words of request-target bytes: 0x21-0x7E. */
static inline const char *skip_target_words(const char *p, const char *lim)
{
    while (lim - p >= 8) {
        uint64_t x = load8(p);
        if (HAS_LESS(x, 0x21) | HAS_ZERO(x ^ (ONES * 0x7f)) | (x & HIGHS))
            break;
        p += 8;
    }
    return p;
}

bool rp_h1_is_tchar(unsigned char c)
{
    return RP_CT(c, RP_CT_TCHAR) != 0;
}

static struct lims get_lims(const struct rp_h1_limits *lim, const struct rp_msg *m)
{
    struct lims l = {DEF_MAX_LINE, DEF_MAX_HEAD, RP_MSG_MAX_HEADERS_DEFAULT};
    if (lim) {
        if (lim->max_request_line)
            l.line = lim->max_request_line;
        if (lim->max_head)
            l.head = lim->max_head;
        if (lim->max_headers)
            l.hdrs = lim->max_headers;
    }
    /* Keep the sums below far from overflow, and the first-line window inside the head: then
     * every limit is hit at the same byte whatever the read sizes were. */
    if (l.head > SIZE_MAX / 4)
        l.head = SIZE_MAX / 4;
    if (l.head < 16)
        l.head = 16;
    if (l.line > l.head - 2)
        l.line = l.head - 2;
    if (!m->hdrs)
        l.hdrs = 0;
    else if (m->cap_hdrs < l.hdrs)
        l.hdrs = m->cap_hdrs;
    return l;
}

static void msg_reset(struct rp_msg *m)
{
    struct rp_header *h = m->hdrs;
    uint32_t cap = m->cap_hdrs;
    memset(m, 0, sizeof(*m));
    m->hdrs = h;
    m->cap_hdrs = cap;
}

/* Looks for the empty line ending the head that starts at s, resuming at *hint so that bytes are
 * scanned once over all calls (except the bounded first-line window). Each LF must close a CRLF:
 * a bare LF is refused as soon as it arrives. Returns the offset just past the head, 0 for more
 * input (*hint updated), E_SYNTAX, E_LINE (first line longer than l->line) or E_HEAD. */
static ssize_t find_head_end(const char *buf, size_t n, size_t s, size_t *hint,
                             const struct lims *l)
{
    size_t from = *hint > s ? *hint : s;
    /* The first line may end at s + line + 1 at the latest (CR at s + line). Until the scan has
     * passed that window, check it directly; memchr over at most line + 2 bytes. */
    if (from < s + l->line + 2) {
        size_t win = n - s < l->line + 2 ? n - s : l->line + 2;
        if (!memchr(buf + s, '\n', win) && n - s >= l->line + 2)
            return E_LINE;
    }
    /* LFs past the head limit are never looked at: the limit is the answer there. */
    const char *p = buf + from, *e = buf + (n - s > l->head ? s + l->head : n);
    while (p < e) {
        const char *q = memchr(p, '\n', (size_t)(e - p));
        if (!q)
            break;
        size_t i = (size_t)(q - buf);
        if (i == s || buf[i - 1] != '\r')
            return E_SYNTAX;
        if (i >= s + 2 && buf[i - 2] == '\n')
            return (ssize_t)(i + 1);
        p = q + 1;
    }
    if (n - s >= l->head)
        return E_HEAD;
    *hint = n;
    return 0;
}

/* "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3). A higher HTTP/1 minor version is
 * handled as 1.1 (RFC 9110 2.5); another major version is E_LINE (the caller's 505). */
static int parse_version(const char *p, size_t n, int *version)
{
    if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' || p[6] != '.' ||
        p[7] < '0' || p[7] > '9')
        return E_SYNTAX;
    if (p[5] != '1')
        return E_LINE;
    *version = p[7] == '0' ? 10 : 11;
    return 0;
}

/* host [":" port] with RFC 3986 authority bytes; no userinfo ('@' is refused, RFC 9110 4.2.4).
 * need_port: CONNECT's authority-form, where the port is required. */
static bool valid_authority(struct rp_slice a, bool need_port)
{
    if (a.n == 0)
        return false;
    for (size_t i = 0; i < a.n; i++)
        if (!RP_CT(a.p[i], RP_CT_HOST))
            return false;
    if (!need_port)
        return true;
    size_t c = a.n;
    while (c > 0 && a.p[c - 1] >= '0' && a.p[c - 1] <= '9')
        c--;
    /* at least one host byte, then ':' then at least one digit */
    return c >= 2 && c < a.n && a.p[c - 1] == ':';
}

static void split_path_query(const char *p, const char *e, struct rp_msg *m)
{
    const char *q = memchr(p, '?', (size_t)(e - p));
    if (q) {
        m->path = (struct rp_slice){p, (size_t)(q - p)};
        m->query = (struct rp_slice){q + 1, (size_t)(e - q - 1)};
    } else {
        m->path = (struct rp_slice){p, (size_t)(e - p)};
    }
}

/* absolute-form (RFC 9112 3.2.2): http or https only; authority and path/query are filled. */
static int parse_absolute(struct rp_msg *m)
{
    const char *p = m->target.p, *e = p + m->target.n;
    const char *c = memchr(p, ':', m->target.n);
    if (!c)
        return E_SYNTAX;
    struct rp_slice scheme = {p, (size_t)(c - p)};
    if (!LC_EQ(scheme, "http") && !LC_EQ(scheme, "https"))
        return E_SYNTAX;
    if (e - c < 3 || c[1] != '/' || c[2] != '/')
        return E_SYNTAX;
    const char *a = c + 3, *q = a;
    while (q < e && *q != '/' && *q != '?')
        q++;
    m->authority = (struct rp_slice){a, (size_t)(q - a)};
    if (!valid_authority(m->authority, false))
        return E_SYNTAX;
    if (q < e && *q == '/') {
        split_path_query(q, e, m);
    } else {
        m->path = (struct rp_slice){root_path, 1};
        if (q < e)
            m->query = (struct rp_slice){q + 1, (size_t)(e - q - 1)};
    }
    return 0;
}

/* The four request-target forms of RFC 9112 3.2, each only with the methods allowed to use it. */
static int parse_target(struct rp_msg *m)
{
    const char *p = m->target.p;
    if (m->meth == RP_METH_CONNECT) {
        if (!valid_authority(m->target, true))
            return E_SYNTAX;
        m->authority = m->target;
        return 0;
    }
    if (p[0] == '/') {
        split_path_query(p, p + m->target.n, m);
        return 0;
    }
    if (m->target.n == 1 && p[0] == '*') {
        if (m->meth != RP_METH_OPTIONS)
            return E_SYNTAX;
        m->path = m->target;
        return 0;
    }
    return parse_absolute(m);
}

/* method SP request-target SP HTTP-version; [p, cr) is the line without its CRLF. Every scan
 * stops at the CR at the latest, which belongs to no accepted class. */
static int parse_request_line(const char *p, const char *cr, struct rp_msg *m)
{
    const char *q = p;
    while (RP_CT(*q, RP_CT_TCHAR))
        q++;
    if (q == p || *q != ' ')
        return E_SYNTAX;
    m->method = (struct rp_slice){p, (size_t)(q - p)};
    m->meth = rp_method_from_slice(m->method);
    const char *t = ++q;
    q = skip_target_words(q, cr);
    while (RP_CT(*q, RP_CT_TARGET))
        q++;
    if (q == t || *q != ' ')
        return E_SYNTAX;
    m->target = (struct rp_slice){t, (size_t)(q - t)};
    q++;
    int rc = parse_version(q, (size_t)(cr - q), &m->version);
    if (rc)
        return rc;
    return parse_target(m);
}

/* The next non-empty element of a comma-separated list in [*p, e), trimmed of OWS (RFC 9110
 * 5.6.1: empty elements are ignored). False at the end of the list. */
static bool next_elem(const char **p, const char *e, struct rp_slice *el)
{
    while (*p < e) {
        const char *c = memchr(*p, ',', (size_t)(e - *p));
        const char *ee = c ? c : e;
        *el = rp_slice_trim_ows((struct rp_slice){*p, (size_t)(ee - *p)});
        *p = c ? c + 1 : e;
        if (el->n)
            return true;
    }
    return false;
}

static bool known_coding(struct rp_slice c)
{
    return LC_EQ(c, "gzip") || LC_EQ(c, "x-gzip") || LC_EQ(c, "deflate") || LC_EQ(c, "compress") ||
           LC_EQ(c, "x-compress");
}

/* Transfer-Encoding: records the coding sequence across all fields; the decision (chunked final,
 * once, known codings) is taken when all fields are seen. */
static void te_field(struct fields *f, struct rp_slice v)
{
    const char *p = v.p, *e = v.p + v.n;
    struct rp_slice el;
    f->nte++;
    while (next_elem(&p, e, &el)) {
        size_t k = 0;
        while (k < el.n && RP_CT(el.p[k], RP_CT_TCHAR))
            k++;
        struct rp_slice name = {el.p, k};
        bool chunked = LC_EQ(name, "chunked");
        if (k == 0 || (k < el.n && chunked)) {
            f->te_bad = true; /* not a token, or chunked with parameters (it has none) */
            continue;
        }
        if (k < el.n) {
            /* transfer-parameters: OWS ";" ...; checked for bytes, not interpreted */
            struct rp_slice rest = rp_slice_trim_ows((struct rp_slice){el.p + k, el.n - k});
            if (rest.p[0] != ';')
                f->te_bad = true;
            for (size_t i = 0; i < rest.n; i++)
                if (!RP_CT(rest.p[i], RP_CT_TCHAR) && !strchr(";= \t\"", rest.p[i]))
                    f->te_bad = true;
        }
        f->ncodings++;
        if (chunked)
            f->nchunked++;
        else if (!known_coding(name))
            f->te_unknown = true;
        f->te_last_chunked = chunked;
    }
}

/* Content-Length = 1*DIGIT, one field, no list (RFC 9112 6.3); capped at INT64_MAX so that
 * every later offset computation fits a signed 64-bit type. */
static void cl_field(struct fields *f, struct rp_slice v)
{
    uint64_t x = 0;
    f->ncl++;
    if (v.n == 0)
        f->cl_bad = true;
    for (size_t i = 0; i < v.n; i++) {
        unsigned d = (unsigned char)v.p[i] - '0';
        if (d > 9 || x > ((uint64_t)INT64_MAX - d) / 10) {
            f->cl_bad = true;
            return;
        }
        x = x * 10 + d;
    }
    f->cl = x;
}

static void conn_field(struct fields *f, struct rp_slice v)
{
    const char *p = v.p, *e = v.p + v.n;
    struct rp_slice el;
    f->has_conn = true;
    while (next_elem(&p, e, &el)) {
        if (LC_EQ(el, "close"))
            f->conn_close = true;
        else if (LC_EQ(el, "keep-alive"))
            f->conn_keep_alive = true;
        else if (LC_EQ(el, "upgrade"))
            f->conn_upgrade = true;
    }
}

/* Dispatch on the few fields the parser interprets; the length switch keeps the common case (a
 * field we do not interpret) to one comparison. */
static void field_semantics(struct fields *f, struct rp_slice name, struct rp_slice v)
{
    switch (name.n) {
    case 4:
        if (LC_EQ(name, "host")) {
            f->nhost++;
            f->host = v;
            for (size_t i = 0; i < v.n; i++)
                if (!RP_CT(v.p[i], RP_CT_HOST))
                    f->host_bad = true;
        }
        break;
    case 6:
        if (LC_EQ(name, "expect") && LC_EQ(v, "100-continue"))
            f->expect_continue = true;
        break;
    case 7:
        if (LC_EQ(name, "upgrade") && v.n)
            f->has_upgrade = true;
        break;
    case 10:
        if (LC_EQ(name, "connection"))
            conn_field(f, v);
        break;
    case 14:
        if (LC_EQ(name, "content-length"))
            cl_field(f, v);
        break;
    case 17:
        if (LC_EQ(name, "transfer-encoding"))
            te_field(f, v);
        break;
    default:
        break;
    }
}

/* field-line CRLF ... up to end (the CR of the final empty line). Each line is walked once: name
 * bytes, then value bytes, by table. A line starting with SP/HTAB (obs-fold), whitespace before
 * the colon, a bare CR and control bytes all stop a scan on a byte that is not the expected one. */
static int parse_fields(const char *p, const char *end, struct rp_msg *m, uint32_t maxh,
                        struct fields *f)
{
    while (p < end) {
        const char *name = p;
        while (RP_CT(*p, RP_CT_TCHAR))
            p++;
        if (p == name || *p != ':')
            return E_SYNTAX;
        struct rp_slice nm = {name, (size_t)(p - name)};
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *v = p;
        p = skip_value_words(p, end);
        while (RP_CT(*p, RP_CT_VALUE))
            p++;
        if (p[0] != '\r' || p[1] != '\n')
            return E_SYNTAX;
        const char *ve = p;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        if (m->nhdrs >= maxh)
            return E_COUNT;
        struct rp_header *h = &m->hdrs[m->nhdrs++];
        h->name = nm;
        h->value = (struct rp_slice){v, (size_t)(ve - v)};
        field_semantics(f, nm, h->value);
        p += 2;
    }
    return 0;
}

/* RFC 9112 6.1-6.3 for requests, plus Host (RFC 9112 3.2) and persistence (9.3). */
static ssize_t request_semantics(struct rp_msg *m, const struct fields *f)
{
    if (f->nte) {
        if (f->ncl || m->version == 10)
            return -400;
        if (f->te_bad || f->ncodings == 0 || f->nchunked > 1 || !f->te_last_chunked)
            return -400;
        /* a coding before chunked would have to be forwarded as is; rampart rebuilds the framing,
         * so like nginx it serves only plain chunked request bodies */
        if (f->te_unknown || f->ncodings > 1)
            return -501;
        m->body = RP_BODY_CHUNKED;
    } else if (f->ncl) {
        if (f->ncl > 1 || f->cl_bad)
            return -400;
        m->body = RP_BODY_LENGTH;
        m->content_length = f->cl;
    } else {
        m->body = RP_BODY_NONE;
    }
    if (f->nhost > 1 || f->host_bad || (m->version == 11 && f->nhost == 0))
        return -400;
    if (f->nhost)
        m->host = f->host;
    m->has_connection_hdr = f->has_conn;
    m->keep_alive = m->version == 11 ? !f->conn_close : f->conn_keep_alive && !f->conn_close;
    /* RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored */
    m->expect_continue = f->expect_continue && m->version == 11;
    /* RFC 9110 7.8: Upgrade in an HTTP/1.0 request is ignored */
    m->upgrade = f->conn_upgrade && f->has_upgrade && m->version == 11;
    return 0;
}

ssize_t rp_h1_parse_request(const char *buf, size_t n, struct rp_msg *msg,
                            const struct rp_h1_limits *lim, size_t *hint)
{
    struct lims l = get_lims(lim, msg);
    size_t s = 0;
    while (n - s >= 2 && buf[s] == '\r' && buf[s + 1] == '\n') {
        s += 2;
        if (s > 2 * MAX_LEADING_EMPTY)
            return -400;
    }
    if (s == n) {
        *hint = n;
        return 0;
    }
    ssize_t end = find_head_end(buf, n, s, hint, &l);
    if (end == 0)
        return 0;
    if (end < 0)
        return end == E_LINE ? -414 : end == E_HEAD ? -431 : -400;

    msg_reset(msg);
    const char *line = buf + s;
    const char *lf = memchr(line, '\n', (size_t)end - s); /* found by find_head_end */
    int rc = parse_request_line(line, lf - 1, msg);
    if (rc)
        return rc == E_LINE ? -505 : -400;
    struct fields f = {0};
    rc = parse_fields(lf + 1, buf + end - 2, msg, l.hdrs, &f);
    if (rc)
        return rc == E_COUNT ? -431 : -400;
    ssize_t sem = request_semantics(msg, &f);
    return sem ? sem : end;
}

/* HTTP-version SP 3DIGIT [SP reason-phrase]; status 100-999 (RFC 9112 4). The reason may be
 * empty, with or without its SP. */
static int parse_status_line(const char *p, const char *cr, struct rp_msg *m)
{
    size_t n = (size_t)(cr - p);
    if (n < 12 || parse_version(p, 8, &m->version) != 0 || p[8] != ' ')
        return E_SYNTAX;
    for (int i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return E_SYNTAX;
    if (p[9] == '0')
        return E_SYNTAX;
    m->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (n == 12) {
        m->reason = (struct rp_slice){p + 12, 0};
        return 0;
    }
    if (p[12] != ' ')
        return E_SYNTAX;
    for (const char *q = p + 13; q < cr; q++)
        if (!RP_CT(*q, RP_CT_VALUE))
            return E_SYNTAX;
    m->reason = (struct rp_slice){p + 13, (size_t)(cr - p - 13)};
    return 0;
}

/* RFC 9112 6.3 for responses: framing depends on the status and the request method. */
static ssize_t response_semantics(struct rp_msg *m, const struct fields *f, enum rp_method req)
{
    int st = m->status;
    if (f->nte && f->ncl)
        return -502;
    if (f->ncl > 1 || f->cl_bad)
        return -502;
    /* RFC 9112 6.1: TE in an HTTP/1.0 message means faulty framing */
    if (f->nte && (m->version == 10 || f->te_bad || f->ncodings == 0 || f->nchunked > 1))
        return -502;
    bool no_body = (st >= 100 && st < 200) || st == 204 || st == 304 || req == RP_METH_HEAD ||
                   (req == RP_METH_CONNECT && st >= 200 && st < 300);
    if (no_body)
        m->body = RP_BODY_NONE;
    else if (f->nte)
        m->body = f->te_last_chunked ? RP_BODY_CHUNKED : RP_BODY_CLOSE;
    else if (f->ncl)
        m->body = RP_BODY_LENGTH;
    else
        m->body = RP_BODY_CLOSE;
    if (f->ncl)
        m->content_length = f->cl;
    m->has_connection_hdr = f->has_conn;
    m->keep_alive = m->version == 11 ? !f->conn_close : f->conn_keep_alive && !f->conn_close;
    if (m->body == RP_BODY_CLOSE)
        m->keep_alive = false;
    m->upgrade = f->conn_upgrade && f->has_upgrade;
    return 0;
}

ssize_t rp_h1_parse_response(const char *buf, size_t n, struct rp_msg *msg, enum rp_method req_meth,
                             const struct rp_h1_limits *lim, size_t *hint)
{
    struct lims l = get_lims(lim, msg);
    if (n == 0)
        return 0;
    ssize_t end = find_head_end(buf, n, 0, hint, &l);
    if (end == 0)
        return 0;
    if (end < 0)
        return -502;

    msg_reset(msg);
    const char *lf = memchr(buf, '\n', (size_t)end);
    if (parse_status_line(buf, lf - 1, msg) != 0)
        return -502;
    struct fields f = {0};
    if (parse_fields(lf + 1, buf + end - 2, msg, l.hdrs, &f) != 0)
        return -502;
    ssize_t sem = response_semantics(msg, &f, req_meth);
    return sem ? sem : end;
}
