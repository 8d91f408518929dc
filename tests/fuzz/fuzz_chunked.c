/* libFuzzer harness for the chunked decoder: the decoded data, trailers and outcome must be the
 * same whether the input arrives in one piece, byte by byte, or split at a fuzzer-chosen point;
 * every DATA slice lies inside the piece it came from. */
#include <stdint.h>
#include <stdlib.h>

#include "http/chunked.h"

struct res {
    int outcome; /* 1 end, 0 need more, -1 error */
    size_t consumed;
    char *data;
    size_t ndata;
    char *trl;
    size_t ntrl;
};

static void run(const char *in, size_t n, size_t split, size_t step, struct res *r)
{
    struct rp_chunked c;
    rp_chunked_init(&c, 64, 256);
    r->outcome = 0;
    r->consumed = 0;
    r->ndata = r->ntrl = 0;
    size_t pos = 0;
    while (pos < n) {
        size_t plen = pos < split ? split - pos : n - pos;
        if (pos >= split && plen > step)
            plen = step;
        const char *piece = in + pos;
        size_t used = 0;
        for (;;) {
            enum rp_chunk_ev ev;
            struct rp_slice out;
            ssize_t k = rp_chunked_decode(&c, piece + used, plen - used, &ev, &out);
            if (k < 0) {
                if (k != -400)
                    abort();
                r->outcome = -1;
                return;
            }
            if ((size_t)k > plen - used)
                abort();
            if (ev == RP_CHUNK_DATA) {
                if (out.p < piece + used || out.p + out.n > piece + used + (size_t)k || !out.n)
                    abort();
                memcpy(r->data + r->ndata, out.p, out.n);
                r->ndata += out.n;
            } else if (ev == RP_CHUNK_TRAILER) {
                memcpy(r->trl + r->ntrl, out.p, out.n);
                r->ntrl += out.n;
                r->trl[r->ntrl++] = '\n';
            } else if (ev == RP_CHUNK_END) {
                r->outcome = 1;
                r->consumed = pos + used + (size_t)k;
                if (c.total != r->ndata)
                    abort();
                return;
            }
            used += (size_t)k;
            if (k == 0)
                break;
        }
        pos += plen;
    }
}

static void same(const struct res *a, const struct res *b)
{
    if (a->outcome != b->outcome || a->consumed != b->consumed || a->ndata != b->ndata ||
        a->ntrl != b->ntrl || memcmp(a->data, b->data, a->ndata) != 0 ||
        memcmp(a->trl, b->trl, a->ntrl) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    const char *in = (const char *)data + 1;
    size_t split = n ? data[0] % (n + 1) : 0;
    struct res r[3];
    for (int i = 0; i < 3; i++) {
        r[i].data = malloc(n + 1);
        r[i].trl = malloc(2 * n + 1);
    }
    run(in, n, n, n, &r[0]);
    run(in, n, 0, 1, &r[1]);
    run(in, n, split, 7, &r[2]);
    same(&r[0], &r[1]);
    same(&r[0], &r[2]);
    for (int i = 0; i < 3; i++) {
        free(r[i].data);
        free(r[i].trl);
    }
    return 0;
}
