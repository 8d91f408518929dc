/* Body framing on the HTTP/1 wire, both directions: a reader that turns Content-Length,
 * chunked or close-delimited bytes into data/trailer/end events, and a writer that frames those
 * events again for the peer. The proxy pairs one reader with one writer per direction. */
#ifndef RP_HTTP_BODY_H
#define RP_HTTP_BODY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "http/chunked.h"
#include "http/msg.h"

struct rp_body_reader {
    enum rp_body_kind kind;
    uint64_t remaining; /* RP_BODY_LENGTH: bytes still expected */
    uint64_t total;     /* data bytes delivered */
    bool done;
    struct rp_chunked *chunked; /* RP_BODY_CHUNKED: decoder state, owned by the caller */
};

/* Start reading a body of the given kind; chunked must point at decoder storage for
 * RP_BODY_CHUNKED (it is initialised here) and may be NULL otherwise. */
void rp_body_reader_init(struct rp_body_reader *r, enum rp_body_kind kind, uint64_t length,
                         struct rp_chunked *chunked);

/* Take the next event from in[0..n). Returns bytes consumed (>= 0) with ev and out set
 * (RP_CHUNK_NONE with 0 means: need more), or -400 on a framing error. eof tells that the peer
 * closed: it ends a close-delimited body and is an error (-400) for an unfinished CL or chunked
 * body. */
ssize_t rp_body_read(struct rp_body_reader *r, const char *in, size_t n, bool eof,
                     enum rp_chunk_ev *ev, struct rp_slice *out);

enum rp_body_out { RP_OUT_NONE, RP_OUT_LENGTH, RP_OUT_CHUNKED, RP_OUT_CLOSE };

/* Bytes of framing the writer may add around one piece of data (chunk size line and CRLF). */
#define RP_BODY_FRAME_OVERHEAD 24

/* False for a trailer line whose field must not be forwarded from a trailer section
 * (framing, routing, authentication, content metadata). */
bool rp_trailer_allowed(struct rp_slice line);

struct rp_body_writer {
    enum rp_body_out kind;
    bool last_chunk_sent; /* chunked: "0\r\n" written, trailers may follow */
};

/* Append one event to out, framed for the peer. The caller reserved data.n +
 * RP_BODY_FRAME_OVERHEAD bytes (a trailer line needs line.n + 8). Trailers are dropped
 * unless the output is chunked. */
void rp_body_write(struct rp_body_writer *w, struct rp_buf *out, enum rp_chunk_ev ev,
                   struct rp_slice data);

#endif
