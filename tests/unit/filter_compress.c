/* Unit tests for the streaming compressors (src/filter/compress.c): round trips through tiny
 * input pieces and output buffers, flush points, cross-checks with the libraries' one-shot
 * decoders and the system gzip/zstd tools, corrupt, truncated, trailing and bomb inputs. */
#include <brotli/decode.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
/* ZSTD_getCParams, only to check the window bound of our level cap */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "filter/compress.h"
#include "test.h"

static const enum rp_coding codings[] = {RP_CODING_GZIP, RP_CODING_BR, RP_CODING_ZSTD};
#define NCODINGS (sizeof(codings) / sizeof(codings[0]))

struct vec {
    uint8_t *p;
    size_t n, cap;
};

static void vec_add(struct vec *v, const uint8_t *p, size_t n)
{
    if (v->n + n > v->cap) {
        size_t c = v->cap ? v->cap : 256;
        while (c < v->n + n)
            c *= 2;
        v->p = realloc(v->p, c);
        if (!v->p)
            abort();
        v->cap = c;
    }
    if (n)
        memcpy(v->p + v->n, p, n);
    v->n += n;
}

/* Deterministic piece sizes: cycling through 1..max (max >= 1). */
static size_t piece(size_t *k, size_t max)
{
    return max == 1 ? 1 : 1 + (*k)++ % max;
}

/* Runs z over in[0..n) in pieces of 1..in_max bytes and output buffers of 1..out_max bytes with
 * flush mode fl for each piece, appending to v and checking the call contract: after a call
 * that left space in out, all input of the piece is taken. Returns the last result. */
static int feed(struct rp_zstream *z, const uint8_t *in, size_t n, size_t in_max, size_t out_max,
                enum rp_zflush fl, struct vec *v, size_t *k)
{
    uint8_t buf[8192];
    size_t off = 0;
    int r = 0;
    while (off < n || n == 0) {
        /* FINISH says the input is complete: it comes with all of it */
        size_t len = fl == RP_Z_FINISH ? n : piece(k, in_max);
        if (len > n - off)
            len = n - off;
        size_t used = 0;
        for (int guard = 0;; guard++) {
            size_t cap = piece(k, out_max), c = 0, pr = 0;
            if (cap > sizeof(buf))
                cap = sizeof(buf);
            r = rp_zstream_run(z, in + off + used, len - used, &c, buf, cap, &pr, fl);
            CHECK(c <= len - used && pr <= cap);
            vec_add(v, buf, pr);
            used += c;
            /* space left in out: the piece is taken and any flush or finish is complete */
            if (r == 0 && pr < cap)
                CHECK(used == len && fl != RP_Z_FINISH);
            if (r != 0 || (pr < cap && used == len))
                break;
            if (guard > 10000000) {
                CHECK(!"no progress");
                return -1;
            }
        }
        off += used;
        if (r != 0 || n == 0)
            break;
    }
    return r;
}

static int compress_all(enum rp_coding c, int level, const uint8_t *in, size_t n, size_t in_max,
                        size_t out_max, struct vec *v)
{
    struct rp_zstream *z = rp_compressor_new(c, level);
    CHECK(z != NULL);
    if (!z)
        return -1;
    size_t k = 0;
    int r = feed(z, in, n, in_max, out_max, RP_Z_NONE, v, &k);
    CHECK_INT(r, 0);
    r = feed(z, NULL, 0, 1, out_max, RP_Z_FINISH, v, &k);
    CHECK_INT(r, 1);
    /* after the end: 1 again, nothing taken or written */
    uint8_t b[4];
    size_t cons = 9, prod = 9;
    CHECK_INT(rp_zstream_run(z, "xy", 2, &cons, b, sizeof(b), &prod, RP_Z_FINISH), 1);
    CHECK(cons == 0 && prod == 0);
    rp_zstream_free(z);
    return r;
}

/* Decompresses in[0..n) fully (a final call with no input), the outcome in the return value. */
static int decompress_all(enum rp_coding c, const uint8_t *in, size_t n, size_t in_max,
                          size_t out_max, size_t max_out, struct vec *v, size_t *consumed)
{
    struct rp_zstream *z = rp_decompressor_new(c, max_out);
    CHECK(z != NULL);
    if (!z)
        return -2;
    uint8_t buf[8192];
    size_t off = 0, k = 0;
    int r = 0;
    for (;;) {
        size_t len = piece(&k, in_max);
        if (len > n - off)
            len = n - off;
        size_t cap = piece(&k, out_max), cons = 0, prod = 0;
        if (cap > sizeof(buf))
            cap = sizeof(buf);
        r = rp_zstream_run(z, in + off, len, &cons, buf, cap, &prod,
                           off + len == n ? RP_Z_FINISH : RP_Z_NONE);
        CHECK(cons <= len && prod <= cap);
        vec_add(v, buf, prod);
        off += cons;
        if (r != 0)
            break;
        /* done once all input is given and a call left output space */
        if (off == n && prod < cap)
            break;
    }
    if (consumed)
        *consumed = off;
    uint8_t b[4];
    size_t cons = 9, prod = 9;
    if (r != 0) {
        /* ended stays ended, failed stays failed, and neither takes nor writes anything */
        CHECK_INT(rp_zstream_run(z, "xy", 2, &cons, b, sizeof(b), &prod, RP_Z_NONE), r);
        CHECK(cons == 0 && prod == 0);
    }
    rp_zstream_free(z);
    return r;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Text-like data: words from a small vocabulary, compressible but not trivially. */
static uint8_t *text_like(size_t n)
{
    static const char *words[] = {
        "the ",     "proxy ",    "header ", "cache ",  "<div class=\"x\">",
        "request ", "upstream ", "\n",      "200 OK ", "content "};
    uint8_t *p = malloc(n ? n : 1);
    size_t i = 0;
    while (i < n) {
        const char *w = words[rnd() % 10];
        size_t l = strlen(w);
        if (l > n - i)
            l = n - i;
        memcpy(p + i, w, l);
        i += l;
    }
    return p;
}

static uint8_t *random_bytes(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
    return p;
}

static void round_trip(enum rp_coding c, const uint8_t *data, size_t n, size_t in_max,
                       size_t out_max)
{
    struct vec comp = {0}, plain = {0};
    compress_all(c, 0, data, n, in_max, out_max, &comp);
    /* incompressible input must not grow by more than the framing overhead */
    CHECK(comp.n <= n + n / 64 + 64);
    size_t used = 0;
    int r = decompress_all(c, comp.p, comp.n, in_max, out_max, 0, &plain, &used);
    CHECK_INT(r, 1);
    CHECK_INT(used, comp.n);
    CHECK_INT(plain.n, n);
    CHECK(plain.n == n && (n == 0 || memcmp(plain.p, data, n) == 0));
    free(comp.p);
    free(plain.p);
}

static void test_round_trips(void)
{
    uint8_t one = 'A';
    uint8_t *pat = malloc(65536);
    for (size_t i = 0; i < 65536; i++)
        pat[i] = (uint8_t)("abcdefghij0123456789"[i % 20] ^ (i / 4096));
    uint8_t *rand1m = random_bytes(1 << 20);
    uint8_t *text = text_like(300000);
    for (size_t i = 0; i < NCODINGS; i++) {
        enum rp_coding c = codings[i];
        for (size_t in_max = 1; in_max <= 7; in_max += 3)
            for (size_t out_max = 1; out_max <= 7; out_max += 2) {
                round_trip(c, NULL, 0, in_max, out_max);
                round_trip(c, &one, 1, in_max, out_max);
            }
        round_trip(c, pat, 65536, 7, 1);
        round_trip(c, pat, 65536, 1, 7);
        round_trip(c, pat, 65536, 65536, 65536);
        round_trip(c, text, 300000, 5, 3);
        round_trip(c, rand1m, 1 << 20, 4096, 7);
        round_trip(c, rand1m, 1 << 20, 1 << 20, 8192);
    }
    free(pat);
    free(rand1m);
    free(text);
}

static void test_levels(void)
{
    uint8_t *text = text_like(100000);
    int max[] = {9, 11, 19};
    for (size_t i = 0; i < NCODINGS; i++)
        for (int lv = 1; lv <= max[i]; lv++) {
            struct vec comp = {0}, plain = {0};
            compress_all(codings[i], lv, text, 100000, 100000, 8192, &comp);
            CHECK(comp.n < 50000);
            CHECK_INT(decompress_all(codings[i], comp.p, comp.n, 8192, 8192, 0, &plain, NULL), 1);
            CHECK(plain.n == 100000 && memcmp(plain.p, text, 100000) == 0);
            free(comp.p);
            free(plain.p);
        }
    free(text);
    /* compress.c caps zstd at level 19 instead of setting a window: zstd's level table keeps
     * those windows within the decoder's windowLogMax of 23 */
    for (int lv = 1; lv <= 19; lv++)
        CHECK(ZSTD_getCParams(lv, ZSTD_CONTENTSIZE_UNKNOWN, 0).windowLog <= 23);
    CHECK(rp_compressor_new(RP_CODING_IDENTITY, 0) == NULL);
    CHECK(rp_decompressor_new(RP_CODING_IDENTITY, 0) == NULL);
    rp_zstream_free(NULL);
}

/* After each FLUSH, what was produced so far decodes to exactly the input so far. */
static void test_flush(void)
{
    uint8_t *text = text_like(200000);
    size_t cuts[] = {0, 1, 2, 100, 5000, 5001, 70000, 200000};
    for (size_t i = 0; i < NCODINGS; i++) {
        struct rp_zstream *z = rp_compressor_new(codings[i], 0);
        struct vec comp = {0};
        size_t k = 0;
        for (size_t j = 1; j < sizeof(cuts) / sizeof(cuts[0]); j++) {
            size_t from = cuts[j - 1], to = cuts[j];
            CHECK_INT(feed(z, text + from, to - from, 7, (j % 3) ? 5 : 4096, RP_Z_FLUSH, &comp, &k),
                      0);
            /* a second flush with nothing new is harmless */
            CHECK_INT(feed(z, NULL, 0, 1, 3, RP_Z_FLUSH, &comp, &k), 0);
            struct vec plain = {0};
            int r = decompress_all(codings[i], comp.p, comp.n, 4096, 4096, 0, &plain, NULL);
            CHECK_INT(r, 0); /* not ended yet */
            CHECK_INT(plain.n, to);
            CHECK(plain.n == to && (to == 0 || memcmp(plain.p, text, to) == 0));
            free(plain.p);
        }
        CHECK_INT(feed(z, NULL, 0, 1, 2, RP_Z_FINISH, &comp, &k), 1);
        struct vec plain = {0};
        CHECK_INT(decompress_all(codings[i], comp.p, comp.n, 4096, 4096, 0, &plain, NULL), 1);
        CHECK(plain.n == 200000 && memcmp(plain.p, text, 200000) == 0);
        free(plain.p);
        free(comp.p);
        rp_zstream_free(z);
    }
    free(text);
}

/* A random mix of NONE and FLUSH calls over tiny pieces and outputs, then FINISH. */
static void test_mixed_flushes(void)
{
    uint8_t *text = text_like(40000);
    for (size_t i = 0; i < NCODINGS; i++) {
        struct rp_zstream *z = rp_compressor_new(codings[i], 0);
        struct vec comp = {0};
        size_t k = 0, off = 0;
        while (off < 40000) {
            size_t len = 1 + rnd() % 300;
            if (len > 40000 - off)
                len = 40000 - off;
            enum rp_zflush fl = rnd() % 4 == 0 ? RP_Z_FLUSH : RP_Z_NONE;
            CHECK_INT(feed(z, text + off, len, 1 + rnd() % 9, 1 + rnd() % 9, fl, &comp, &k), 0);
            off += len;
        }
        CHECK_INT(feed(z, NULL, 0, 1, 6, RP_Z_FINISH, &comp, &k), 1);
        rp_zstream_free(z);
        struct vec plain = {0};
        CHECK_INT(decompress_all(codings[i], comp.p, comp.n, 5, 3, 0, &plain, NULL), 1);
        CHECK(plain.n == 40000 && memcmp(plain.p, text, 40000) == 0);
        free(plain.p);
        free(comp.p);
    }
    free(text);
}

/* FINISH given together with the input (and tiny outputs): several calls, 1 only at the end. */
static void test_finish_with_input(void)
{
    uint8_t *text = text_like(50000);
    for (size_t i = 0; i < NCODINGS; i++) {
        struct rp_zstream *z = rp_compressor_new(codings[i], 0);
        struct vec comp = {0};
        size_t k = 0;
        CHECK_INT(feed(z, text, 50000, 50000, 3, RP_Z_FINISH, &comp, &k), 1);
        rp_zstream_free(z);
        struct vec plain = {0};
        CHECK_INT(decompress_all(codings[i], comp.p, comp.n, 11, 4096, 0, &plain, NULL), 1);
        CHECK(plain.n == 50000 && memcmp(plain.p, text, 50000) == 0);
        free(plain.p);
        free(comp.p);
    }
    free(text);
}

/* Our output decodes with the libraries' one-shot decoders (brotli, zstd). */
static void test_one_shot_decoders(void)
{
    uint8_t *text = text_like(1 << 20);
    struct vec br = {0}, zs = {0};
    compress_all(RP_CODING_BR, 0, text, 1 << 20, 65536, 8192, &br);
    compress_all(RP_CODING_ZSTD, 0, text, 1 << 20, 65536, 8192, &zs);
    uint8_t *out = malloc((1 << 20) + 16);
    size_t n = (1 << 20) + 16;
    CHECK_INT(BrotliDecoderDecompress(br.n, br.p, &n, out), BROTLI_DECODER_RESULT_SUCCESS);
    CHECK(n == (1 << 20) && memcmp(out, text, n) == 0);
    size_t zn = ZSTD_decompress(out, (1 << 20) + 16, zs.p, zs.n);
    CHECK(!ZSTD_isError(zn) && zn == (1 << 20) && memcmp(out, text, zn) == 0);
    free(out);
    free(br.p);
    free(zs.p);
    free(text);
}

static bool have_tool(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* Our output decodes with the system tools (each skipped when absent). */
static void test_system_tools(void)
{
    static const char *tools[] = {"gzip", "brotli", "zstd"};
    uint8_t *text = text_like(300000);
    for (size_t i = 0; i < NCODINGS; i++) {
        if (!have_tool(tools[i])) {
            printf("     (%s not installed: skipped)\n", tools[i]);
            continue;
        }
        struct vec comp = {0};
        compress_all(codings[i], 0, text, 300000, 999, 777, &comp);
        char path[] = "/tmp/rp_compress_XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        if (fd < 0)
            continue;
        CHECK_INT(write(fd, comp.p, comp.n), comp.n);
        close(fd);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "%s -dc < %s", tools[i], path);
        FILE *f = popen(cmd, "r");
        CHECK(f != NULL);
        struct vec plain = {0};
        uint8_t buf[4096];
        size_t got;
        while (f && (got = fread(buf, 1, sizeof(buf), f)) > 0)
            vec_add(&plain, buf, got);
        if (f)
            CHECK_INT(pclose(f), 0);
        CHECK(plain.n == 300000 && memcmp(plain.p, text, 300000) == 0);
        unlink(path);
        free(plain.p);
        free(comp.p);
    }
    free(text);
}

static void test_corrupt(void)
{
    static const char junk[] = "this is certainly not a compressed stream, just some text....";
    uint8_t ff[64];
    memset(ff, 0xff, sizeof(ff));
    uint8_t *text = text_like(20000);
    for (size_t i = 0; i < NCODINGS; i++) {
        struct vec plain = {0};
        int r = decompress_all(codings[i], (const uint8_t *)junk, sizeof(junk) - 1, 3, 5, 0, &plain,
                               NULL);
        /* brotli has no magic number: junk may be a valid prefix, but never a whole stream */
        if (codings[i] != RP_CODING_BR)
            CHECK_INT(r, -1);
        else
            CHECK(r != 1);
        free(plain.p);
        plain = (struct vec){0};
        CHECK_INT(decompress_all(codings[i], ff, sizeof(ff), 64, 64, 0, &plain, NULL), -1);
        free(plain.p);

        /* a flipped byte in the middle: gzip's CRC-32 and zstd's checksum catch it; brotli has
         * no checksum so only require that it does not decode to the original */
        struct vec comp = {0};
        compress_all(codings[i], 0, text, 20000, 20000, 4096, &comp);
        comp.p[comp.n / 2] ^= 0x55;
        plain = (struct vec){0};
        r = decompress_all(codings[i], comp.p, comp.n, 4096, 4096, 0, &plain, NULL);
        if (codings[i] != RP_CODING_BR)
            CHECK_INT(r, -1);
        else
            CHECK(r != 1 || plain.n != 20000 || memcmp(plain.p, text, 20000) != 0);
        free(plain.p);
        free(comp.p);
    }
    free(text);
}

/* A 10 MiB zero bomb with max_out 1 MiB fails, having written at most the limit + 1. */
static void test_bomb(void)
{
    size_t n = 10u << 20;
    uint8_t *zeros = calloc(1, n);
    for (size_t i = 0; i < NCODINGS; i++) {
        struct vec comp = {0}, plain = {0};
        compress_all(codings[i], 0, zeros, n, n, 65536, &comp);
        CHECK(comp.n < 64 * 1024);
        CHECK_INT(decompress_all(codings[i], comp.p, comp.n, 4096, 8192, 1u << 20, &plain, NULL),
                  -1);
        CHECK(plain.n <= (1u << 20) + 1);
        free(plain.p);
        /* exactly at the limit is fine */
        plain = (struct vec){0};
        CHECK_INT(decompress_all(codings[i], comp.p, comp.n, 4096, 8192, n, &plain, NULL), 1);
        CHECK_INT(plain.n, n);
        free(plain.p);
        plain = (struct vec){0};
        CHECK_INT(decompress_all(codings[i], comp.p, comp.n, 4096, 8192, n - 1, &plain, NULL), -1);
        free(plain.p);
        free(comp.p);
    }
    free(zeros);
}

/* Every proper prefix of a stream ends in 0 (more needed), never 1. */
static void test_truncated(void)
{
    uint8_t *text = text_like(3000);
    for (size_t i = 0; i < NCODINGS; i++) {
        struct vec comp = {0};
        compress_all(codings[i], 0, text, 3000, 3000, 4096, &comp);
        for (size_t cut = 0; cut < comp.n; cut++) {
            struct vec plain = {0};
            int r = decompress_all(codings[i], comp.p, cut, cut % 7 + 1, 4096, 0, &plain, NULL);
            CHECK_INT(r, 0);
            CHECK(plain.n <= 3000 && memcmp(plain.p ? plain.p : text, text, plain.n) == 0);
            free(plain.p);
        }
        free(comp.p);
    }
    free(text);
}

/* Bytes after the end of a gzip member or zstd frame are left unconsumed. */
static void test_trailing(void)
{
    static const char tail[] = "GARBAGE AFTER THE STREAM";
    uint8_t *text = text_like(5000);
    for (size_t i = 0; i < NCODINGS; i++) {
        struct vec comp = {0};
        compress_all(codings[i], 0, text, 5000, 5000, 4096, &comp);
        size_t len = comp.n;
        vec_add(&comp, (const uint8_t *)tail, sizeof(tail) - 1);
        for (size_t in_max = 1; in_max <= 4096; in_max *= 64) {
            struct vec plain = {0};
            size_t used = 0;
            CHECK_INT(decompress_all(codings[i], comp.p, comp.n, in_max, 7, 0, &plain, &used), 1);
            CHECK_INT(used, len);
            CHECK(plain.n == 5000 && memcmp(plain.p, text, 5000) == 0);
            free(plain.p);
        }
        free(comp.p);
    }
    free(text);
}

int main(void)
{
    RUN(test_round_trips);
    RUN(test_levels);
    RUN(test_flush);
    RUN(test_mixed_flushes);
    RUN(test_finish_with_input);
    RUN(test_one_shot_decoders);
    RUN(test_system_tools);
    RUN(test_corrupt);
    RUN(test_bomb);
    RUN(test_truncated);
    RUN(test_trailing);
    TEST_MAIN_END();
}
