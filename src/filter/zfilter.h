/* The compression filter of the response path: whether a response is compressed (media type,
 * size, codings already applied, no-transform, ranges, the client's Accept-Encoding), and a
 * stream that turns body events (data, trailers, end) into the framed, compressed bytes the
 * client gets. It holds the framed output in its own growable buffer, so the caller moves it
 * to the client as room allows and feeds the next event only once it has drained. No I/O. */
#ifndef RP_FILTER_ZFILTER_H
#define RP_FILTER_ZFILTER_H

#include <stdbool.h>

#include "config/config.h"
#include "core/buf.h"
#include "http/accept_encoding.h"
#include "http/body.h"
#include "http/msg.h"

/* The coding resp to req should get under conf: RP_CODING_IDENTITY when it is not compressed.
 * *vary is set when the response is eligible at all (its representation then depends on
 * Accept-Encoding, which Vary must say, even when this client gets identity). */
enum rp_coding rp_zfilter_choose(const struct rp_compress_conf *conf, const struct rp_msg *req,
                                 const struct rp_msg *resp, bool *vary);

struct rp_zfilter;

/* A filter compressing with coding c at level (0 = default) and framing for out (chunked or
 * close-delimited). NULL on OOM. */
struct rp_zfilter *rp_zfilter_new(enum rp_coding c, int level, enum rp_body_out out);
void rp_zfilter_free(struct rp_zfilter *f);

/* Feed one event of the backend's body: RP_CHUNK_DATA (compressed), RP_CHUNK_TRAILER (the
 * compressed stream is finished first, then the line passes), RP_CHUNK_END (finished, then the
 * last chunk); RP_CHUNK_NONE with flush makes everything so far decodable (the backend
 * paused). The framed result is appended to rp_zfilter_output. False on a compressor error. */
bool rp_zfilter_feed(struct rp_zfilter *f, enum rp_chunk_ev ev, struct rp_slice data, bool flush);

/* Framed bytes waiting for the client (consume what was sent). */
struct rp_buf *rp_zfilter_output(struct rp_zfilter *f);

#endif
