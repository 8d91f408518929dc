/* Backend connections and the per-worker keep-alive pools they return to between requests. */
#ifndef RP_PROXY_UPSTREAM_POOL_H
#define RP_PROXY_UPSTREAM_POOL_H

#include "proxy/exchange.h"

/* The key of the connections to server srv of u (at most RP_POOL_KEY bytes): plain HTTP/1.1
 * connections are keyed by address alone, others by a hash of what makes them different (TLS
 * settings with the files' contents, the server name sent, the protocol) and the address, so a
 * reload that changes any of those never reuses a connection made under the old settings. */
void rp_pool_key(const struct rp_upstream_conf *u, const struct rp_server_conf *srv, char *out,
                 size_t n);

/* An idle pooled connection to server srv of u (most recently used first), or NULL. Plain and
 * TLS connections, and TLS connections with different settings or server names, never mix. */
struct rp_bconn *rp_pool_take(struct rp_worker *w, const struct rp_upstream_conf *u,
                              const struct rp_server_conf *srv);

/* Start a non-blocking connect to server srv of u. With u->tls, b->ssl is set up (SNI,
 * verification, ALPN, a cached session) and b->handshaking is true: the caller runs
 * rp_bconn_handshake once connected. NULL with *err = -errno when it failed at once. */
struct rp_bconn *rp_bconn_connect(struct rp_worker *w, const struct rp_upstream_conf *u,
                                  const struct rp_server_conf *srv, int *err);

/* Advance the TLS handshake of a connected b: 1 done (b->handshaking cleared), 0 waiting for
 * the socket, -1 failed with the reason (and any verification error) in why[0..n). */
int rp_bconn_handshake(struct rp_bconn *b, char *why, size_t n);

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
