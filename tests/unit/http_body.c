/* Body framing: readers for Content-Length, chunked and close-delimited bodies, and writers that
 * re-frame them, including the chunked terminator with trailers written exactly once. */
#include <stdlib.h>

#include "http/body.h"
#include "test.h"

/* Decode all of in with reader kind, re-encode with writer kind, return the output. */
static size_t transcode(enum rp_body_kind kind, uint64_t len, enum rp_body_out out_kind,
                        const char *in, size_t n, bool eof, char *out, size_t cap, int *err)
{
    struct rp_chunked ch;
    struct rp_body_reader r;
    struct rp_body_writer w = {.kind = out_kind};
    struct rp_buf b = {.data = out, .cap = cap};
    rp_body_reader_init(&r, kind, len, &ch);
    size_t off = 0;
    *err = 0;
    for (int guard = 0; guard < 10000 && !r.done; guard++) {
        enum rp_chunk_ev ev;
        struct rp_slice s;
        ssize_t k = rp_body_read(&r, in + off, n - off, eof, &ev, &s);
        if (k < 0) {
            *err = (int)k;
            break;
        }
        off += (size_t)k;
        rp_body_write(&w, &b, ev, s);
        if (k == 0 && ev == RP_CHUNK_NONE)
            break;
    }
    return b.tail;
}

static void test_length_to_length(void)
{
    char out[256];
    int err;
    size_t n = transcode(RP_BODY_LENGTH, 5, RP_OUT_LENGTH, "helloEXTRA", 10, false, out,
                         sizeof(out), &err);
    CHECK_INT(err, 0);
    CHECK_MEM(out, n, "hello");
}

static void test_chunked_to_chunked_with_trailer(void)
{
    const char *in = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 1\r\n\r\nNEXT";
    char out[256];
    int err;
    size_t n = transcode(RP_BODY_CHUNKED, 0, RP_OUT_CHUNKED, in, strlen(in), false, out,
                         sizeof(out), &err);
    CHECK_INT(err, 0);
    CHECK_MEM(out, n, "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n");
}

static void test_chunked_terminator_once(void)
{
    const char *in = "3\r\nabc\r\n0\r\n\r\n";
    char out[64];
    int err;
    size_t n = transcode(RP_BODY_CHUNKED, 0, RP_OUT_CHUNKED, in, strlen(in), false, out,
                         sizeof(out), &err);
    CHECK_MEM(out, n, "3\r\nabc\r\n0\r\n\r\n");
}

static void test_close_delimited_to_chunked(void)
{
    char out[64];
    int err;
    size_t n = transcode(RP_BODY_CLOSE, 0, RP_OUT_CHUNKED, "abcd", 4, true, out, sizeof(out), &err);
    CHECK_INT(err, 0);
    CHECK_MEM(out, n, "4\r\nabcd\r\n0\r\n\r\n");
}

static void test_chunked_to_length_drops_trailers(void)
{
    const char *in = "2\r\nhi\r\n0\r\nX: y\r\n\r\n";
    char out[64];
    int err;
    size_t n =
        transcode(RP_BODY_CHUNKED, 0, RP_OUT_CLOSE, in, strlen(in), false, out, sizeof(out), &err);
    CHECK_INT(err, 0);
    CHECK_MEM(out, n, "hi");
}

static void test_truncated_length_is_error(void)
{
    char out[64];
    int err;
    transcode(RP_BODY_LENGTH, 10, RP_OUT_LENGTH, "abc", 3, true, out, sizeof(out), &err);
    CHECK_INT(err, -400);
}

static void test_truncated_chunked_is_error(void)
{
    char out[64];
    int err;
    transcode(RP_BODY_CHUNKED, 0, RP_OUT_CHUNKED, "5\r\nab", 6, true, out, sizeof(out), &err);
    CHECK_INT(err, -400);
}

static void test_framing_trailers_dropped(void)
{
    const char *in = "2\r\nhi\r\n0\r\nContent-Length: 50\r\nX-Ok: 1\r\nHost: evil\r\n\r\n";
    char out[128];
    int err;
    size_t n = transcode(RP_BODY_CHUNKED, 0, RP_OUT_CHUNKED, in, strlen(in), false, out,
                         sizeof(out), &err);
    CHECK_INT(err, 0);
    CHECK_MEM(out, n, "2\r\nhi\r\n0\r\nX-Ok: 1\r\n\r\n");
    CHECK(rp_trailer_allowed(RP_SLICE_LIT("X-Checksum: abc")));
    CHECK(!rp_trailer_allowed(RP_SLICE_LIT("transfer-encoding: chunked")));
}

static void test_zero_length_is_done(void)
{
    struct rp_body_reader r;
    rp_body_reader_init(&r, RP_BODY_LENGTH, 0, NULL);
    CHECK(r.done);
    rp_body_reader_init(&r, RP_BODY_NONE, 0, NULL);
    CHECK(r.done);
}

int main(void)
{
    RUN(test_length_to_length);
    RUN(test_chunked_to_chunked_with_trailer);
    RUN(test_chunked_terminator_once);
    RUN(test_close_delimited_to_chunked);
    RUN(test_chunked_to_length_drops_trailers);
    RUN(test_truncated_length_is_error);
    RUN(test_truncated_chunked_is_error);
    RUN(test_framing_trailers_dropped);
    RUN(test_zero_length_is_done);
    TEST_MAIN_END();
}
