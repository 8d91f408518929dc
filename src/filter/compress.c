/* Streaming gzip (zlib), brotli and zstd compressors and decompressors behind the one
 * rp_zstream_run contract: each coding gets a small run function that loops its library until
 * the caller's output is full or the requested input/flush/finish work is done.
 *
 * On-the-fly defaults (level 0): gzip 5, br 4, zstd 3 -- fast enough for per-response use while
 * still well ahead of lower levels in ratio. Memory is bounded per stream: gzip 32 KiB window
 * (memLevel 8), brotli lgwin 22 (4 MiB), zstd levels are capped at 19 whose window is at most
 * 2^23, the same bound the zstd decompressor enforces on hostile frames (windowLogMax 23); the
 * brotli decoder keeps its standard 16 MiB window limit (large windows stay off). */
#include "filter/compress.h"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

enum { GZIP_DEFAULT = 5, BR_DEFAULT = 4, ZSTD_DEFAULT = 3, ZSTD_MAX = 19, BR_LGWIN = 22 };
enum { ZSTD_WINDOW_LOG_MAX = 23 };

enum zstate { ST_RUN, ST_END, ST_ERR };

struct rp_zstream {
    enum rp_coding coding;
    bool compress;
    enum zstate state;
    /* compressing: a started FLUSH/FINISH stays in force until fully written, so a caller that
     * drops back to a weaker flush mid-way cannot leave a library in a half-flushed phase */
    enum rp_zflush pending;
    size_t max_out;   /* decompressing: 0 = unlimited */
    size_t total_out; /* decompressing: bytes produced so far */
    /* gzip compressing: output deflated into the stage when the caller's space was tiny */
    uint8_t stage[64];
    size_t stage_pos, stage_len;
    union {
        z_stream zs;
        BrotliEncoderState *be;
        BrotliDecoderState *bd;
        ZSTD_CCtx *zc;
        ZSTD_DCtx *zd;
    } u;
};

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

struct rp_zstream *rp_compressor_new(enum rp_coding c, int level)
{
    struct rp_zstream *z = calloc(1, sizeof(*z));
    if (!z)
        return NULL;
    z->coding = c;
    z->compress = true;
    switch (c) {
    case RP_CODING_GZIP:
        level = level == 0 ? GZIP_DEFAULT : clamp(level, 1, 9);
        /* 15 + 16: a 32 KiB window with the gzip wrapper (header and CRC-32 trailer) */
        if (deflateInit2(&z->u.zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            break;
        return z;
    case RP_CODING_BR:
        level = level == 0 ? BR_DEFAULT : clamp(level, 0, 11);
        z->u.be = BrotliEncoderCreateInstance(NULL, NULL, NULL);
        if (!z->u.be)
            break;
        if (!BrotliEncoderSetParameter(z->u.be, BROTLI_PARAM_QUALITY, (uint32_t)level) ||
            !BrotliEncoderSetParameter(z->u.be, BROTLI_PARAM_LGWIN, BR_LGWIN)) {
            BrotliEncoderDestroyInstance(z->u.be);
            break;
        }
        return z;
    case RP_CODING_ZSTD:
        level = level == 0 ? ZSTD_DEFAULT : clamp(level, 1, ZSTD_MAX);
        z->u.zc = ZSTD_createCCtx();
        if (!z->u.zc)
            break;
        /* the checksum lets a decoder (and the cache) notice a damaged body for a few bytes */
        if (ZSTD_isError(ZSTD_CCtx_setParameter(z->u.zc, ZSTD_c_compressionLevel, level)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(z->u.zc, ZSTD_c_checksumFlag, 1))) {
            ZSTD_freeCCtx(z->u.zc);
            break;
        }
        return z;
    default:
        break;
    }
    free(z);
    return NULL;
}

struct rp_zstream *rp_decompressor_new(enum rp_coding c, size_t max_out)
{
    struct rp_zstream *z = calloc(1, sizeof(*z));
    if (!z)
        return NULL;
    z->coding = c;
    z->max_out = max_out;
    switch (c) {
    case RP_CODING_GZIP:
        if (inflateInit2(&z->u.zs, 15 + 16) != Z_OK)
            break;
        return z;
    case RP_CODING_BR:
        z->u.bd = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        if (!z->u.bd)
            break;
        return z;
    case RP_CODING_ZSTD:
        z->u.zd = ZSTD_createDCtx();
        if (!z->u.zd)
            break;
        /* a hostile frame header may not make us allocate more than an 8 MiB window */
        if (ZSTD_isError(
                ZSTD_DCtx_setParameter(z->u.zd, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX))) {
            ZSTD_freeDCtx(z->u.zd);
            break;
        }
        return z;
    default:
        break;
    }
    free(z);
    return NULL;
}

void rp_zstream_free(struct rp_zstream *z)
{
    if (!z)
        return;
    switch (z->coding) {
    case RP_CODING_GZIP:
        if (z->compress)
            deflateEnd(&z->u.zs);
        else
            inflateEnd(&z->u.zs);
        break;
    case RP_CODING_BR:
        if (z->compress)
            BrotliEncoderDestroyInstance(z->u.be);
        else
            BrotliDecoderDestroyInstance(z->u.bd);
        break;
    case RP_CODING_ZSTD:
        if (z->compress)
            ZSTD_freeCCtx(z->u.zc);
        else
            ZSTD_freeDCtx(z->u.zd);
        break;
    default:
        break;
    }
    free(z);
}

/* The run functions below share one shape: in/out cursors (*ip, *op advance), the flush mode in
 * force; they return 1 when the requested work is complete (stream ended for FINISH), 0 when the
 * output filled first, -1 on error. */

static int gzip_deflate(struct rp_zstream *z, const uint8_t *in, size_t *ip, size_t in_len,
                        uint8_t *out, size_t *op, size_t cap, enum rp_zflush fl)
{
    z_stream *s = &z->u.zs;
    int zf = fl == RP_Z_FINISH ? Z_FINISH : fl == RP_Z_FLUSH ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    for (;;) {
        if (z->stage_pos < z->stage_len) {
            size_t n = z->stage_len - z->stage_pos;
            if (n > cap - *op)
                n = cap - *op;
            memcpy(out + *op, z->stage + z->stage_pos, n);
            z->stage_pos += n;
            *op += n;
            if (z->stage_pos < z->stage_len)
                return 0;
        }
        if (*op == cap)
            return 0;
        /* zlib repeats a flush marker each time a flush ends exactly at the end of the output,
         * so with a buffer of a few bytes it would never finish: below 16 bytes of space,
         * deflate into the stage and hand that out piecewise */
        bool staged = cap - *op < 16;
        /* zlib counts in uInt: at most 1 GiB per call so huge buffers cannot wrap */
        size_t in_chunk = in_len - *ip > (1u << 30) ? (1u << 30) : in_len - *ip;
        size_t out_chunk = staged                   ? sizeof(z->stage)
                           : cap - *op > (1u << 30) ? (1u << 30)
                                                    : cap - *op;
        s->next_in = (Bytef *)(uintptr_t)(in + *ip);
        s->avail_in = (uInt)in_chunk;
        s->next_out = staged ? z->stage : out + *op;
        s->avail_out = (uInt)out_chunk;
        int r = deflate(s, zf);
        *ip += in_chunk - s->avail_in;
        if (staged) {
            z->stage_pos = 0;
            z->stage_len = out_chunk - s->avail_out;
        } else {
            *op += out_chunk - s->avail_out;
        }
        bool done;
        if (r == Z_STREAM_END)
            done = true;
        else if (r == Z_BUF_ERROR) /* no progress possible: nothing left for this mode */
            done = *ip == in_len && fl != RP_Z_FINISH;
        else if (r != Z_OK)
            return -1;
        else /* space left means zlib took all it was given and did the whole flush */
            done = s->avail_out > 0 && *ip == in_len && fl != RP_Z_FINISH;
        if (done && z->stage_pos == z->stage_len)
            return 1;
        if (r == Z_BUF_ERROR && z->stage_pos == z->stage_len)
            return 0;
        /* done with staged bytes left: they go out first; the next deflate call then reports
         * completion again without producing anything (Z_BUF_ERROR or Z_STREAM_END) */
    }
}

static int br_encode(struct rp_zstream *z, const uint8_t *in, size_t *ip, size_t in_len,
                     uint8_t *out, size_t *op, size_t cap, enum rp_zflush fl)
{
    BrotliEncoderOperation bop = fl == RP_Z_FINISH  ? BROTLI_OPERATION_FINISH
                                 : fl == RP_Z_FLUSH ? BROTLI_OPERATION_FLUSH
                                                    : BROTLI_OPERATION_PROCESS;
    bool flushed = false; /* a flush needs one call even without new input */
    for (;;) {
        if (fl == RP_Z_FINISH && BrotliEncoderIsFinished(z->u.be))
            return 1;
        if (fl != RP_Z_FINISH && (fl == RP_Z_NONE || flushed) && *ip == in_len &&
            !BrotliEncoderHasMoreOutput(z->u.be))
            return 1;
        if (*op == cap)
            return 0;
        /* output held back from an earlier call goes first and without new input: brotli
         * refuses input that extends a flush still being written */
        size_t feed = BrotliEncoderHasMoreOutput(z->u.be) ? 0 : in_len - *ip;
        size_t avail_in = feed, avail_out = cap - *op;
        const uint8_t *next_in = in + *ip;
        uint8_t *next_out = out + *op;
        if (!BrotliEncoderCompressStream(z->u.be, bop, &avail_in, &next_in, &avail_out, &next_out,
                                         NULL))
            return -1;
        flushed |= avail_in == 0; /* a flush (or finish) call that took all it was given */
        *ip += feed - avail_in;
        *op = cap - avail_out;
    }
}

static int zstd_encode(struct rp_zstream *z, const uint8_t *in, size_t *ip, size_t in_len,
                       uint8_t *out, size_t *op, size_t cap, enum rp_zflush fl)
{
    ZSTD_EndDirective d = fl == RP_Z_FINISH  ? ZSTD_e_end
                          : fl == RP_Z_FLUSH ? ZSTD_e_flush
                                             : ZSTD_e_continue;
    for (;;) {
        if (*op == cap)
            return 0;
        ZSTD_inBuffer ib = {in, in_len, *ip};
        ZSTD_outBuffer ob = {out, cap, *op};
        size_t r = ZSTD_compressStream2(z->u.zc, &ob, &ib, d);
        if (ZSTD_isError(r))
            return -1;
        *ip = ib.pos;
        *op = ob.pos;
        /* flush and end report the bytes still held back; continue only needs the input taken
         * (what zstd buffers internally comes out with a later flush or end) */
        if (d == ZSTD_e_continue ? ib.pos == in_len : r == 0)
            return 1;
    }
}

/* Decompressors: 1 at the end of the compressed stream, 0 when out is full or input ran out. */

static int gzip_inflate(struct rp_zstream *z, const uint8_t *in, size_t *ip, size_t in_len,
                        uint8_t *out, size_t *op, size_t cap)
{
    z_stream *s = &z->u.zs;
    while (*op < cap) {
        size_t in_chunk = in_len - *ip > (1u << 30) ? (1u << 30) : in_len - *ip;
        size_t out_chunk = cap - *op > (1u << 30) ? (1u << 30) : cap - *op;
        s->next_in = (Bytef *)(uintptr_t)(in + *ip);
        s->avail_in = (uInt)in_chunk;
        s->next_out = out + *op;
        s->avail_out = (uInt)out_chunk;
        int r = inflate(s, Z_NO_FLUSH);
        *ip += in_chunk - s->avail_in;
        *op += out_chunk - s->avail_out;
        if (r == Z_STREAM_END)
            return 1;
        if (r == Z_BUF_ERROR) /* needs input we do not have yet */
            return 0;
        if (r != Z_OK)
            return -1; /* data error, a preset dictionary (not allowed in gzip), memory */
        if (s->avail_out > 0 && *ip == in_len)
            return 0;
    }
    return 0;
}

static int br_decode(struct rp_zstream *z, const uint8_t *in, size_t *ip, size_t in_len,
                     uint8_t *out, size_t *op, size_t cap)
{
    size_t avail_in = in_len - *ip, avail_out = cap - *op;
    const uint8_t *next_in = in + *ip;
    uint8_t *next_out = out + *op;
    BrotliDecoderResult r =
        BrotliDecoderDecompressStream(z->u.bd, &avail_in, &next_in, &avail_out, &next_out, NULL);
    *ip = in_len - avail_in;
    *op = cap - avail_out;
    if (r == BROTLI_DECODER_RESULT_SUCCESS)
        return 1;
    if (r == BROTLI_DECODER_RESULT_ERROR)
        return -1;
    return 0; /* needs more input or more output */
}

static int zstd_decode(struct rp_zstream *z, const uint8_t *in, size_t *ip, size_t in_len,
                       uint8_t *out, size_t *op, size_t cap)
{
    for (;;) {
        ZSTD_inBuffer ib = {in, in_len, *ip};
        ZSTD_outBuffer ob = {out, cap, *op};
        size_t r = ZSTD_decompressStream(z->u.zd, &ob, &ib);
        if (ZSTD_isError(r))
            return -1;
        bool progress = ib.pos != *ip || ob.pos != *op;
        *ip = ib.pos;
        *op = ob.pos;
        /* 0: the frame is complete and flushed; zstd stops at the frame's end, so what follows
         * (trailing bytes, further frames) stays unconsumed */
        if (r == 0)
            return 1;
        if (!progress || *op == cap)
            return 0;
    }
}

int rp_zstream_run(struct rp_zstream *z, const void *in, size_t in_len, size_t *consumed, void *out,
                   size_t cap, size_t *produced, enum rp_zflush flush)
{
    *consumed = 0;
    *produced = 0;
    if (z->state == ST_END)
        return 1;
    if (z->state == ST_ERR)
        return -1;
    /* pointer arithmetic on NULL is undefined even with a zero offset: use stand-ins */
    static const uint8_t no_in[1];
    static uint8_t no_out[1];
    if (!in) {
        in = no_in;
        in_len = 0;
    }
    if (!out) {
        out = no_out;
        cap = 0;
    }
    size_t ip = 0, op = 0;
    int r;
    if (z->compress) {
        if (flush > z->pending)
            z->pending = flush;
        enum rp_zflush fl = z->pending;
        switch (z->coding) {
        case RP_CODING_GZIP:
            r = gzip_deflate(z, in, &ip, in_len, out, &op, cap, fl);
            break;
        case RP_CODING_BR:
            r = br_encode(z, in, &ip, in_len, out, &op, cap, fl);
            break;
        default:
            r = zstd_encode(z, in, &ip, in_len, out, &op, cap, fl);
            break;
        }
        if (r == 1) {
            /* the requested work is done: a finished stream ends, a flush is over */
            if (fl == RP_Z_FINISH) {
                z->state = ST_END;
            } else {
                z->pending = RP_Z_NONE;
                r = 0;
            }
        }
    } else {
        /* the bomb guard: offer the decoder one byte beyond the limit, so reaching it exactly
         * is fine and any byte past it is caught without writing more than the limit + 1 */
        size_t lim = cap;
        if (z->max_out) {
            size_t left = z->max_out - z->total_out;
            if (lim > left + 1)
                lim = left + 1;
        }
        switch (z->coding) {
        case RP_CODING_GZIP:
            r = gzip_inflate(z, in, &ip, in_len, out, &op, lim);
            break;
        case RP_CODING_BR:
            r = br_decode(z, in, &ip, in_len, out, &op, lim);
            break;
        default:
            r = zstd_decode(z, in, &ip, in_len, out, &op, lim);
            break;
        }
        z->total_out += op;
        if (z->max_out && z->total_out > z->max_out)
            r = -1;
        if (r == 1)
            z->state = ST_END;
    }
    if (r < 0)
        z->state = ST_ERR;
    *consumed = ip;
    *produced = op;
    return r;
}
