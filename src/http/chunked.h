/* Incremental decoder for the chunked transfer coding (RFC 9112 section 7.1), strict:
 * chunk sizes are 1*HEXDIG without leading/trailing junk and at most 16 hex digits without
 * overflow, chunk extensions are syntax-checked (token[=token|quoted-string]) and dropped, each
 * chunk's data must be followed by CRLF exactly, trailer fields are checked like header fields.
 * Bare LF, bare CR, NUL and control bytes are errors. The decoder never copies data: it hands
 * back slices of the input. */
#ifndef RP_HTTP_CHUNKED_H
#define RP_HTTP_CHUNKED_H

#include <stdint.h>
#include <sys/types.h>

#include "core/slice.h"

enum rp_chunk_ev {
    RP_CHUNK_NONE = 0, /* consumed framing bytes only */
    RP_CHUNK_DATA,     /* *out is body data (a slice of in) */
    RP_CHUNK_TRAILER,  /* *out is one complete trailer field line, without its CRLF */
    RP_CHUNK_END,      /* last-chunk and trailer section complete: the body is over */
};

struct rp_chunked {
    int state;
    uint64_t remaining;   /* data bytes left in the current chunk */
    uint32_t line_len;    /* bytes of the current size/extension/trailer line seen so far */
    uint32_t trailer_len; /* total trailer-section bytes seen, bounded by max_trailer */
    uint32_t max_line;    /* cap on a chunk-size line or one trailer line (default 4096) */
    uint32_t max_trailer; /* cap on the whole trailer section (default 16384) */
    uint64_t total;       /* body bytes decoded so far */
    /* a trailer line split across calls is gathered here; see rp_chunked_decode */
    char line[4096];
};

/* Reset for a new body. Limits of 0 take the defaults. */
void rp_chunked_init(struct rp_chunked *c, uint32_t max_line, uint32_t max_trailer);

/* Decode from in[0..n). Returns the number of bytes consumed (>= 0) and sets *ev and *out:
 * call again with the rest until it returns 0 with RP_CHUNK_NONE (need more input) or
 * RP_CHUNK_END. RP_CHUNK_DATA slices point into in; RP_CHUNK_TRAILER slices point into in or
 * into c->line. Returns -400 on any syntax error (the body must not be forwarded further). */
ssize_t rp_chunked_decode(struct rp_chunked *c, const char *in, size_t n, enum rp_chunk_ev *ev,
                          struct rp_slice *out);

#endif
