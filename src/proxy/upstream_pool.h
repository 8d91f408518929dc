/* Backend connections and the per-worker keep-alive pools they return to between requests. */
#ifndef RP_PROXY_UPSTREAM_POOL_H
#define RP_PROXY_UPSTREAM_POOL_H

#include "proxy/exchange.h"

/* An idle pooled connection to addr (most recently used first), or NULL. */
struct rp_bconn *rp_pool_take(struct rp_worker *w, const struct rp_sockaddr *addr);

/* Start a non-blocking connect to addr. NULL with *err = -errno when it failed at once. */
struct rp_bconn *rp_bconn_connect(struct rp_worker *w, const struct rp_sockaddr *addr, int *err);

/* The exchange is done with b: pooled when reusable and the upstream allows more idle
 * connections, else closed. */
void rp_bconn_release(struct rp_bconn *b, const struct rp_upstream_conf *u, bool reusable);

/* Close now (freed at the end of the loop iteration). */
void rp_bconn_close(struct rp_bconn *b);

/* Read into b->in (up to max buffered bytes): > 0 read, 0 nothing now, -1 EOF/error. */
ssize_t rp_bconn_fill(struct rp_bconn *b, size_t max);

/* Write b->out: true when bytes were written; *err = -errno on a write error. */
bool rp_bconn_flush(struct rp_bconn *b, int *err);

/* Close every idle pooled connection of this worker (shutdown). */
void rp_pool_close_all(struct rp_worker *w);

#endif
