/* Unit tests for the chunked decoder: valid bodies with extensions and trailers decoded one shot,
 * byte by byte and split at every point (all must agree), and a table of malformed framing. */
#include <stdlib.h>

#include "http/chunked.h"
#include "test.h"

enum { RES_END = 1, RES_MORE = 0, RES_ERR = -1 };

struct result {
    int res;
    size_t consumed; /* bytes up to and including the end of the body (RES_END) */
    char data[512];
    size_t ndata;
    char trailers[512]; /* each trailer line followed by '\n' */
    size_t ntrailers;
};

static void append(char *dst, size_t *n, size_t cap, const char *p, size_t len)
{
    if (*n + len > cap) {
        CHECK(!"result buffer overflow");
        return;
    }
    memcpy(dst + *n, p, len);
    *n += len;
}

/* Feed in[0..n) as pieces: [0, split) then [split, n) in steps of step bytes. Each piece is an
 * exact heap copy so AddressSanitizer sees over-reads. */
static void run(const char *in, size_t n, size_t split, size_t step, struct result *r)
{
    struct rp_chunked c;
    rp_chunked_init(&c, 0, 0);
    memset(r, 0, sizeof(*r));
    size_t pos = 0;
    while (pos < n) {
        size_t plen = pos < split ? split - pos : n - pos;
        if (pos >= split && plen > step)
            plen = step;
        char *piece = malloc(plen);
        memcpy(piece, in + pos, plen);
        size_t used = 0;
        for (;;) {
            enum rp_chunk_ev ev;
            struct rp_slice out;
            ssize_t k = rp_chunked_decode(&c, piece + used, plen - used, &ev, &out);
            if (k < 0) {
                r->res = RES_ERR;
                free(piece);
                return;
            }
            used += (size_t)k;
            if (ev == RP_CHUNK_DATA) {
                append(r->data, &r->ndata, sizeof(r->data), out.p, out.n);
            } else if (ev == RP_CHUNK_TRAILER) {
                append(r->trailers, &r->ntrailers, sizeof(r->trailers), out.p, out.n);
                append(r->trailers, &r->ntrailers, sizeof(r->trailers), "\n", 1);
            } else if (ev == RP_CHUNK_END) {
                r->res = RES_END;
                r->consumed = pos + used;
                free(piece);
                return;
            }
            if (k == 0)
                break;
        }
        free(piece);
        pos += plen;
    }
    r->res = RES_MORE;
}

static void check_same(const struct result *a, const struct result *b)
{
    CHECK_INT(a->res, b->res);
    CHECK_INT(a->consumed, b->consumed);
    CHECK(a->ndata == b->ndata && memcmp(a->data, b->data, a->ndata) == 0);
    CHECK(a->ntrailers == b->ntrailers && memcmp(a->trailers, b->trailers, a->ntrailers) == 0);
}

/* One shot, byte by byte, and every two-piece split must agree. */
static void run_all(const char *in, size_t n, struct result *r)
{
    struct result other;
    run(in, n, n, n, r);
    run(in, n, 0, 1, &other);
    check_same(r, &other);
    for (size_t s = 1; s < n; s++) {
        run(in, n, s, n, &other);
        check_same(r, &other);
    }
}

#define LEN(s) (sizeof(s) - 1)

static void test_valid(void)
{
    struct result r;
    static const char a[] = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT";
    run_all(a, LEN(a), &r);
    CHECK_INT(r.res, RES_END);
    CHECK_INT(r.consumed, LEN(a) - 4);
    CHECK_MEM(r.data, r.ndata, "hello world");
    CHECK_INT(r.ntrailers, 0);

    static const char b[] = "A;name=value;flag;q=\"quo\\\"ted; x\"\r\n0123456789\r\n"
                            "1 ; a = b\t;c\r\nx\r\n"
                            "0;last\r\nExpires: never\r\nX-Sum:  abc \r\n\r\n";
    run_all(b, LEN(b), &r);
    CHECK_INT(r.res, RES_END);
    CHECK_INT(r.consumed, LEN(b));
    CHECK_MEM(r.data, r.ndata, "0123456789x");
    CHECK_MEM(r.trailers, r.ntrailers, "Expires: never\nX-Sum:  abc \n");

    static const char c[] = "000f\r\n0123456789abcde\r\n0000\r\n\r\n";
    run_all(c, LEN(c), &r);
    CHECK_INT(r.res, RES_END);
    CHECK_MEM(r.data, r.ndata, "0123456789abcde");

    static const char d[] = "0\r\n\r\n";
    run_all(d, LEN(d), &r);
    CHECK_INT(r.res, RES_END);
    CHECK_INT(r.ndata, 0);

    /* incomplete input is "need more", never an error */
    static const char e[] = "5\r\nhel";
    run_all(e, LEN(e), &r);
    CHECK_INT(r.res, RES_MORE);
    CHECK_MEM(r.data, r.ndata, "hel");

    /* 16 hex digits are allowed (leading zeros included) */
    static const char f[] = "0000000000000001\r\nz\r\n0\r\n\r\n";
    run_all(f, LEN(f), &r);
    CHECK_INT(r.res, RES_END);
    CHECK_MEM(r.data, r.ndata, "z");
}

static void test_after_end(void)
{
    struct rp_chunked c;
    enum rp_chunk_ev ev;
    struct rp_slice out;
    rp_chunked_init(&c, 0, 0);
    const char *in = "3\r\nabc\r\n0\r\n\r\nXYZ";
    size_t n = strlen(in), pos = 0;
    ssize_t k;
    do {
        k = rp_chunked_decode(&c, in + pos, n - pos, &ev, &out);
        CHECK(k >= 0);
        pos += (size_t)k;
    } while (k > 0 && ev != RP_CHUNK_END);
    CHECK_INT(ev, RP_CHUNK_END);
    CHECK_INT(pos, n - 3);
    CHECK_INT(c.total, 3);
    /* after the end nothing more is consumed */
    CHECK_INT(rp_chunked_decode(&c, in + pos, n - pos, &ev, &out), 0);
    CHECK_INT(ev, RP_CHUNK_END);
}

struct bad {
    const char *name;
    const char *in;
    size_t n;
};
#define B(name, s)                                                                                 \
    {                                                                                              \
        name, s, sizeof(s) - 1                                                                     \
    }

static const struct bad bad_cases[] = {
    B("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"),
    B("negative", "-5\r\nhello\r\n0\r\n\r\n"),
    B("plus", "+5\r\nhello\r\n0\r\n\r\n"),
    B("17 digits", "00000000000000001\r\nz\r\n0\r\n\r\n"),
    B("overflow", "fffffffffffffffff\r\n"),
    B("empty size", "\r\nhello\r\n0\r\n\r\n"),
    B("leading space", " 5\r\nhello\r\n0\r\n\r\n"),
    B("space before CRLF", "5 \r\nhello\r\n0\r\n\r\n"),
    B("tab before CRLF", "5\t\r\nhello\r\n0\r\n\r\n"),
    B("junk after size", "5x\r\nhello\r\n0\r\n\r\n"),
    B("bare LF size", "5\nhello\r\n0\r\n\r\n"),
    B("bare CR size", "5\rhello\r\n0\r\n\r\n"),
    B("missing CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n"),
    B("LF after data", "5\r\nhello\n0\r\n\r\n"),
    B("CR only after data", "5\r\nhello\r0\r\n\r\n"),
    B("data too long", "3\r\nhello\r\n0\r\n\r\n"),
    B("NUL in size", "5\0\r\nhello\r\n0\r\n\r\n"),
    B("ext no name", "5;\r\nhello\r\n0\r\n\r\n"),
    B("ext name space CRLF", "5;a \r\nhello\r\n0\r\n\r\n"),
    B("ext empty value", "5;a=\r\nhello\r\n0\r\n\r\n"),
    B("ext bad char", "5;a@b\r\nhello\r\n0\r\n\r\n"),
    B("ext open quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n"),
    B("ext CTL in quote", "5;a=\"x\x01\"\r\nhello\r\n0\r\n\r\n"),
    B("ext after quote junk", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n"),
    B("ext NUL", "5;a\0\r\nhello\r\n0\r\n\r\n"),
    B("trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n"),
    B("trailer starts with SP", "0\r\n X: a\r\n\r\n"),
    B("trailer no colon", "0\r\nXa\r\n\r\n"),
    B("trailer space colon", "0\r\nX : a\r\n\r\n"),
    B("trailer empty name", "0\r\n: a\r\n\r\n"),
    B("trailer bare LF", "0\r\nX: a\n\r\n"),
    B("trailer bare CR", "0\r\nX: a\rb\r\n\r\n"),
    B("trailer NUL", "0\r\nX: a\0\r\n\r\n"),
    B("final bare LF", "0\r\n\n"),
    B("final CR junk", "0\r\n\rX"),
};

static void test_invalid(void)
{
    struct result r;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        run_all(bad_cases[i].in, bad_cases[i].n, &r);
        if (r.res != RES_ERR)
            fprintf(stderr, "case \"%s\"\n", bad_cases[i].name);
        CHECK_INT(r.res, RES_ERR);
    }
}

static void test_limits(void)
{
    struct rp_chunked c;
    enum rp_chunk_ev ev;
    struct rp_slice out;
    char big[200];
    /* a size line longer than max_line */
    rp_chunked_init(&c, 16, 64);
    memcpy(big, "1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 33);
    CHECK_INT(rp_chunked_decode(&c, big, 33, &ev, &out), -400);
    /* a trailer line longer than max_line */
    rp_chunked_init(&c, 16, 64);
    const char *t = "0\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    CHECK_INT(rp_chunked_decode(&c, t, strlen(t), &ev, &out) < 0, 1);
    /* a trailer section longer than max_trailer, each line short */
    rp_chunked_init(&c, 16, 64);
    const char *u = "0\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\nI: 1\r\n"
                    "J: 1\r\nK: 1\r\n\r\n";
    size_t pos = 0, n = strlen(u);
    ssize_t k = 0;
    while (pos < n && (k = rp_chunked_decode(&c, u + pos, n - pos, &ev, &out)) > 0)
        pos += (size_t)k;
    CHECK_INT(k, -400);
}

int main(void)
{
    RUN(test_valid);
    RUN(test_after_end);
    RUN(test_invalid);
    RUN(test_limits);
    TEST_MAIN_END();
}
