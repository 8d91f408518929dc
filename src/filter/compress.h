/* Streaming compression and decompression with gzip (zlib), brotli and zstd behind one
 * interface, for the compression filter and the cache (a stored compressed variant served to
 * an identity client). Bounded memory per stream; output is produced as input arrives (no
 * whole-body buffering); flushes let a streamed response reach the client without waiting. */
#ifndef RP_FILTER_COMPRESS_H
#define RP_FILTER_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "http/accept_encoding.h"

struct rp_zstream;

enum rp_zflush {
    RP_Z_NONE,   /* more input follows; output what is ready */
    RP_Z_FLUSH,  /* make everything given so far decodable by the peer (sync flush) */
    RP_Z_FINISH, /* the input is complete: end the stream */
};

/* A compressor for c (gzip, br or zstd) at level (1..9 for gzip, 0..11 br, 1..19 zstd;
 * 0 = the coding's default for on-the-fly use: gzip 5, br 4, zstd 3; so br quality 0 cannot
 * be asked for; out-of-range levels are clamped). NULL on OOM or for identity. */
struct rp_zstream *rp_compressor_new(enum rp_coding c, int level);
/* A decompressor for c, producing at most max_out bytes in total (a bomb guard; 0 = no
 * limit). */
struct rp_zstream *rp_decompressor_new(enum rp_coding c, size_t max_out);
void rp_zstream_free(struct rp_zstream *z);

/* Run the stream over in[0..in_len) writing into out[0..cap): *consumed input bytes were
 * taken, *produced output bytes written. Call again with the rest (or with in_len 0) while
 * *produced == cap. Returns 1 when the stream has ended (FINISH fully written, or the
 * compressed input's end reached when decompressing), 0 when more calls are needed, -1 on
 * corrupt input or an exceeded max_out (decompressing) or an internal error. */
int rp_zstream_run(struct rp_zstream *z, const void *in, size_t in_len, size_t *consumed, void *out,
                   size_t cap, size_t *produced, enum rp_zflush flush);

#endif
