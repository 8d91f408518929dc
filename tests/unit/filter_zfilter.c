/* Unit tests for the response compression filter: when a response is compressed (types,
 * sizes, codings, no-transform, ranges, statuses, Accept-Encoding) and the framed stream it
 * makes from body events (chunks that decode back to the body, trailers after the compressed
 * data, flushes that make a prefix decodable). */
#include <stdlib.h>
#include <string.h>
#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include "filter/zfilter.h"
#include "test.h"

static const struct rp_compress_conf conf = {
    .prefer = {RP_CODING_ZSTD, RP_CODING_BR, RP_CODING_GZIP},
    .nprefer = 3,
    .min_length = 256,
    .types = (const char *[]){"text/html", "application/json", "text/*"},
    .ntypes = 3,
};

struct hs {
    struct rp_header h[8];
    struct rp_msg m;
};

static struct rp_msg *msg(struct hs *s, int status, const char *const *kv)
{
    memset(s, 0, sizeof(*s));
    uint32_t n = 0;
    for (; kv && kv[2 * n]; n++) {
        s->h[n].name = rp_slice_cstr(kv[2 * n]);
        s->h[n].value = rp_slice_cstr(kv[2 * n + 1]);
        if (!strcmp(kv[2 * n], "content-length"))
            s->m.content_length = strtoull(kv[2 * n + 1], NULL, 10);
    }
    s->m.hdrs = s->h;
    s->m.nhdrs = n;
    s->m.cap_hdrs = 8;
    s->m.status = status;
    return &s->m;
}

static int choose(const char *ae, int status, const char *const *resp_kv, bool *vary)
{
    struct hs rq, rs;
    const char *req_kv[] = {"accept-encoding", ae, NULL};
    struct rp_msg *req = msg(&rq, 0, ae ? req_kv : NULL);
    struct rp_msg *resp = msg(&rs, status, resp_kv);
    return rp_zfilter_choose(&conf, req, resp, vary);
}

static void test_choose(void)
{
    bool vary;
    const char *html[] = {"content-type", "text/html; charset=utf-8", "content-length", "1000",
                          NULL};
    CHECK_INT(choose("gzip", 200, html, &vary), RP_CODING_GZIP);
    CHECK(vary);
    CHECK_INT(choose("gzip, br, zstd", 200, html, &vary), RP_CODING_ZSTD); /* our order */
    CHECK_INT(choose("gzip;q=1, zstd;q=0.5", 200, html, &vary), RP_CODING_GZIP);
    CHECK_INT(choose(NULL, 200, html, &vary), RP_CODING_IDENTITY);
    CHECK(vary); /* eligible: caches must keep the variants apart */
    CHECK_INT(choose("identity", 200, html, &vary), RP_CODING_IDENTITY);
    CHECK_INT(choose("gzip", 404, html, &vary), RP_CODING_GZIP);
    CHECK_INT(choose("gzip", 204, html, &vary), RP_CODING_IDENTITY);
    CHECK_INT(choose("gzip", 206, html, &vary), RP_CODING_IDENTITY);
    CHECK_INT(choose("gzip", 304, html, &vary), RP_CODING_IDENTITY);
    CHECK(!vary);
    const char *small[] = {"content-type", "text/html", "content-length", "255", NULL};
    CHECK_INT(choose("gzip", 200, small, &vary), RP_CODING_IDENTITY);
    const char *edge[] = {"content-type", "text/html", "content-length", "256", NULL};
    CHECK_INT(choose("gzip", 200, edge, &vary), RP_CODING_GZIP);
    const char *chunked[] = {"content-type", "TEXT/CSS", NULL}; /* a whole type, any case */
    CHECK_INT(choose("br", 200, chunked, &vary), RP_CODING_BR);
    const char *png[] = {"content-type", "image/png", "content-length", "9000", NULL};
    CHECK_INT(choose("gzip", 200, png, &vary), RP_CODING_IDENTITY);
    CHECK(!vary);
    const char *none[] = {"content-length", "9000", NULL};
    CHECK_INT(choose("gzip", 200, none, &vary), RP_CODING_IDENTITY);
    const char *coded[] = {"content-type", "text/html", "content-encoding", "gzip", NULL};
    CHECK_INT(choose("gzip", 200, coded, &vary), RP_CODING_IDENTITY);
    const char *ident[] = {"content-type", "text/html", "content-encoding", "identity", NULL};
    CHECK_INT(choose("gzip", 200, ident, &vary), RP_CODING_GZIP);
    const char *nt[] = {"content-type", "text/html", "cache-control", "public, no-transform", NULL};
    CHECK_INT(choose("gzip", 200, nt, &vary), RP_CODING_IDENTITY);
    /* a range request is answered as it comes */
    struct hs rq, rs;
    const char *req_kv[] = {"accept-encoding", "gzip", "range", "bytes=0-9", NULL};
    CHECK_INT(rp_zfilter_choose(&conf, msg(&rq, 0, req_kv), msg(&rs, 200, html), &vary),
              RP_CODING_IDENTITY);
    CHECK_INT(rp_zfilter_choose(NULL, msg(&rq, 0, req_kv), msg(&rs, 200, html), &vary),
              RP_CODING_IDENTITY);
}

/* Undo chunked framing of out[0..n) into body; trailer lines go to trailers. Returns false
 * on bad framing. */
static bool unchunk(const char *p, size_t n, char *body, size_t *blen, char *trailers)
{
    const char *end = p + n;
    *blen = 0;
    trailers[0] = '\0';
    for (;;) {
        char *e;
        unsigned long sz = strtoul(p, &e, 16);
        if (e == p || e + 2 > end || memcmp(e, "\r\n", 2))
            return false;
        p = e + 2;
        if (!sz)
            break;
        if (p + sz + 2 > end)
            return false;
        memcpy(body + *blen, p, sz);
        *blen += sz;
        p += sz + 2;
    }
    size_t rest = (size_t)(end - p);
    memcpy(trailers, p, rest);
    trailers[rest] = '\0';
    return true;
}

static void test_stream_gzip(void)
{
    enum { N = 200000 };
    char *in = malloc(N), *framed = malloc(4 * N), *z = malloc(2 * N), *back = malloc(N + 1);
    char trailers[256];
    for (size_t i = 0; i < N; i++)
        in[i] = "abcdefghij klmnop\n"[(i * 7 + i / 1000) % 18];
    struct rp_zfilter *f = rp_zfilter_new(RP_CODING_GZIP, 0, RP_OUT_CHUNKED);
    CHECK(f != NULL);
    size_t nf = 0;
    /* data in uneven pieces, a flush in the middle, a trailer, the end */
    size_t off = 0, piece = 1;
    bool flushed_prefix_ok = false;
    while (off < N) {
        size_t k = piece < N - off ? piece : N - off;
        CHECK(rp_zfilter_feed(f, RP_CHUNK_DATA, (struct rp_slice){in + off, k}, false));
        off += k;
        piece = piece * 3 + 1;
        if (off > N / 2 && !flushed_prefix_ok) {
            CHECK(rp_zfilter_feed(f, RP_CHUNK_NONE, (struct rp_slice){NULL, 0}, true));
            struct rp_buf *o = rp_zfilter_output(f);
            memcpy(framed + nf, rp_buf_rptr(o), rp_buf_len(o));
            nf += rp_buf_len(o);
            rp_buf_consume(o, rp_buf_len(o));
            /* everything so far decodes: inflate what came, expect off bytes */
            size_t zl = 0;
            const char *p = framed, *end = framed + nf;
            while (p < end) { /* chunks only so far, no last-chunk */
                char *e;
                unsigned long sz = strtoul(p, &e, 16);
                p = e + 2;
                memcpy(z + zl, p, sz);
                zl += sz;
                p += sz + 2;
            }
            z_stream s = {0};
            inflateInit2(&s, 15 + 16);
            s.next_in = (Bytef *)z;
            s.avail_in = (uInt)zl;
            s.next_out = (Bytef *)back;
            s.avail_out = N;
            int r = inflate(&s, Z_SYNC_FLUSH);
            CHECK(r == Z_OK || r == Z_BUF_ERROR);
            CHECK_INT(s.total_out, off);
            CHECK(memcmp(back, in, off) == 0);
            inflateEnd(&s);
            flushed_prefix_ok = true;
        }
    }
    CHECK(rp_zfilter_feed(f, RP_CHUNK_TRAILER, rp_slice_cstr("X-Sum: 42"), false));
    CHECK(rp_zfilter_feed(f, RP_CHUNK_END, (struct rp_slice){NULL, 0}, false));
    struct rp_buf *o = rp_zfilter_output(f);
    memcpy(framed + nf, rp_buf_rptr(o), rp_buf_len(o));
    nf += rp_buf_len(o);
    size_t zl;
    CHECK(unchunk(framed, nf, z, &zl, trailers));
    CHECK(strcmp(trailers, "X-Sum: 42\r\n\r\n") == 0);
    uLongf bl = N + 1;
    z_stream s = {0};
    inflateInit2(&s, 15 + 16);
    s.next_in = (Bytef *)z;
    s.avail_in = (uInt)zl;
    s.next_out = (Bytef *)back;
    s.avail_out = (uInt)bl;
    CHECK_INT(inflate(&s, Z_FINISH), Z_STREAM_END);
    CHECK_INT(s.total_out, N);
    CHECK(memcmp(back, in, N) == 0);
    CHECK(zl < N / 4);
    inflateEnd(&s);
    rp_zfilter_free(f);
    free(in);
    free(framed);
    free(z);
    free(back);
}

static void test_empty_body_each_coding(void)
{
    for (int c = RP_CODING_GZIP; c < RP_CODING_COUNT; c++) {
        struct rp_zfilter *f = rp_zfilter_new((enum rp_coding)c, 0, RP_OUT_CHUNKED);
        CHECK(f != NULL);
        if (!f)
            continue;
        CHECK(rp_zfilter_feed(f, RP_CHUNK_END, (struct rp_slice){NULL, 0}, false));
        struct rp_buf *o = rp_zfilter_output(f);
        /* an empty stream still has its header and trailer, then the last chunk */
        CHECK(rp_buf_len(o) > 5);
        CHECK(rp_buf_len(o) >= 5 && !memcmp(rp_buf_rptr(o) + rp_buf_len(o) - 5, "0\r\n\r\n", 5));
        rp_zfilter_free(f);
    }
}

/* A flush with no new input (the backend paused) makes what was fed decodable, for every
 * coding (brotli once gave nothing here: its flush needs a call even without input). */
static void test_flush_without_input(void)
{
    static char in[10240], out[16384];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = "line the quick brown fox\n"[i % 25];
    for (int c = RP_CODING_GZIP; c < RP_CODING_COUNT; c++) {
        struct rp_zfilter *f = rp_zfilter_new((enum rp_coding)c, 0, RP_OUT_CLOSE);
        CHECK(f != NULL);
        if (!f)
            continue;
        CHECK(rp_zfilter_feed(f, RP_CHUNK_DATA, (struct rp_slice){in, sizeof(in)}, false));
        CHECK(rp_zfilter_feed(f, RP_CHUNK_NONE, (struct rp_slice){NULL, 0}, true));
        struct rp_buf *o = rp_zfilter_output(f);
        size_t got = 0;
        if (c == RP_CODING_GZIP) {
            z_stream s = {0};
            inflateInit2(&s, 15 + 16);
            s.next_in = (Bytef *)rp_buf_rptr(o);
            s.avail_in = (uInt)rp_buf_len(o);
            s.next_out = (Bytef *)out;
            s.avail_out = sizeof(out);
            inflate(&s, Z_SYNC_FLUSH);
            got = s.total_out;
            inflateEnd(&s);
        } else if (c == RP_CODING_BR) {
            BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
            size_t ai = rp_buf_len(o), ao = sizeof(out);
            const uint8_t *ni = (const uint8_t *)rp_buf_rptr(o);
            uint8_t *no = (uint8_t *)out;
            BrotliDecoderDecompressStream(d, &ai, &ni, &ao, &no, NULL);
            got = sizeof(out) - ao;
            BrotliDecoderDestroyInstance(d);
        } else {
            ZSTD_DStream *d = ZSTD_createDStream();
            ZSTD_inBuffer ib = {rp_buf_rptr(o), rp_buf_len(o), 0};
            ZSTD_outBuffer ob = {out, sizeof(out), 0};
            ZSTD_decompressStream(d, &ob, &ib);
            got = ob.pos;
            ZSTD_freeDStream(d);
        }
        CHECK_INT(got, sizeof(in));
        CHECK(got == sizeof(in) && memcmp(out, in, got) == 0);
        rp_zfilter_free(f);
    }
}

int main(void)
{
    RUN(test_choose);
    RUN(test_stream_gzip);
    RUN(test_empty_body_each_coding);
    RUN(test_flush_without_input);
    TEST_MAIN_END();
}
