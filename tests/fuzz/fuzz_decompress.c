/* libFuzzer harness for the streaming decompressors: the first byte picks the coding (gzip, br,
 * zstd) and the piece sizes, the rest is decompressed with a max_out through small output
 * buffers. No crash, every call within its buffers, total output bounded by max_out + 1. */
#include <stdint.h>
#include <stdlib.h>

#include "filter/compress.h"

enum { MAX_OUT = 256 << 10 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const enum rp_coding codings[] = {RP_CODING_GZIP, RP_CODING_BR, RP_CODING_ZSTD};
    enum rp_coding c = codings[data[0] % 3];
    size_t in_step = 1 + (size_t)((data[0] >> 2) & 7) * 37; /* 1..260 bytes per piece */
    size_t out_cap = 1 + (size_t)(data[0] >> 5) * 97;       /* 1..680 bytes of output */
    data++;
    size--;
    struct rp_zstream *z = rp_decompressor_new(c, MAX_OUT);
    if (!z)
        abort();
    uint8_t out[1024];
    size_t off = 0, total = 0;
    int r = 0;
    for (;;) {
        size_t len = size - off < in_step ? size - off : in_step;
        size_t cons = 0, prod = 0;
        r = rp_zstream_run(z, data + off, len, &cons, out, out_cap, &prod, RP_Z_NONE);
        if (cons > len || prod > out_cap)
            abort();
        off += cons;
        total += prod;
        if (total > (size_t)MAX_OUT + 1)
            abort();
        if (r != 0)
            break;
        /* the contract: space left in out means the offered input was all taken */
        if (prod < out_cap && cons != len)
            abort();
        /* each turn took input or filled out (bounded by max_out); stop when both ran out */
        if (off == size && prod < out_cap)
            break;
    }
    size_t cons = 1, prod = 1;
    int again = rp_zstream_run(z, data, size, &cons, out, out_cap, &prod, RP_Z_NONE);
    if (r != 0 && (again != r || cons != 0 || prod != 0))
        abort();
    rp_zstream_free(z);
    return 0;
}
