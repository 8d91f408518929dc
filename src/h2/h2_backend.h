/* HTTP/2 to backends (upstream protocol h2 / h2c): per worker and server, a few real
 * connections multiplexing streams (libnghttp2). Each exchange gets a *virtual* rp_bconn
 * (b->h2s set, io.fd = -1) so the proxy handler runs unchanged: it writes HTTP/1.1 into b->out
 * and reads HTTP/1.1 from b->in; this code translates both ways (see docs/http2.md). */
#ifndef RP_H2_H2_BACKEND_H
#define RP_H2_H2_BACKEND_H

#include <stdbool.h>
#include <sys/types.h>

#include "proxy/exchange.h"

/* A virtual backend connection for one request to server srv of upstream u (protocol h2 or h2c),
 * on a live connection with a free stream slot, else on a new connection. While that connection
 * is being set up the returned b has connecting set and can_write clear; a failed setup sets
 * eof with connecting still set, which the proxy takes for a refused connect. NULL with
 * *err = -errno when a new connection failed at once. Thread: the worker's. */
struct rp_bconn *rp_h2b_open(struct rp_worker *w, const struct rp_upstream_conf *u,
                             const struct rp_server_conf *srv, int *err);

/* rp_bconn_fill for a virtual b: moves the next piece of the synthesized HTTP/1.1 response
 * (head, then the body as chunks, then the trailer section) into b->in and lets the backend
 * send as much more (stream WINDOW_UPDATE). > 0 bytes added, 0 nothing now, -1 the stream
 * failed and nothing more will come (b->eof set). */
ssize_t rp_h2b_fill(struct rp_bconn *b, size_t max);

/* rp_bconn_flush for a virtual b: takes the request head written into b->out (HEADERS) and
 * then the framed body (DATA, trailers) as the stream's send window allows. True when bytes of
 * b->out were taken; *err = -EPIPE once the stream can take no more (reset, connection lost). */
bool rp_h2b_flush(struct rp_bconn *b, int *err);

/* rp_bconn_release / rp_bconn_close for a virtual b: an unfinished stream is reset (CANCEL);
 * b is freed at the end of the loop iteration. u may be NULL. The connection stays for other
 * streams and, once idle, for u's keepalive_timeout. */
void rp_h2b_release(struct rp_bconn *b, const struct rp_upstream_conf *u);

/* Close this worker's HTTP/2 backend connections: idle ones when !all (drain), all when all
 * (worker exit). Connections still carrying streams close when their last stream ends. */
void rp_h2b_close_idle(struct rp_worker *w, bool all);

#endif
