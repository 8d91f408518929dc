/* Choosing a server for each attempt of a proxied exchange: the candidates (usable, not yet
 * tried, below max_conns; backups only when no primary is left), the sticky cookie, the hash
 * key, the balancer; the in-flight and passive accounting of attempts; the retry budget; and
 * the per-worker queue of exchanges waiting for a server below max_conns. */
#ifndef RP_PROXY_UPSTREAM_SELECT_H
#define RP_PROXY_UPSTREAM_SELECT_H

#include <stdbool.h>

#include "lb/server_state.h"
#include "proxy/exchange.h"

enum rp_select_result {
    RP_SEL_OK,   /* x->server_idx is chosen and its in-flight count taken (x->attempt_open) */
    RP_SEL_FULL, /* servers are usable but every one is at max_conns: queue, or 503 */
    RP_SEL_NONE, /* no usable server that this exchange has not tried */
};

/* Pick the server for the next attempt of x. */
enum rp_select_result rp_upstream_select(struct rp_exchange *x);

/* A worker thread ends: its selection scratch is freed. */
void rp_upstream_select_thread_end(void);

/* A retry of x may start now (the upstream's retry budget, rp_lb_budget_retry); counted. */
bool rp_upstream_retry_allowed(struct rp_exchange *x);

/* The current attempt ended: its result feeds passive health and latency (once per attempt;
 * RP_ATTEMPT_CANCELLED says nothing about the server), and its in-flight count is dropped. */
void rp_upstream_attempt_result(struct rp_exchange *x, enum rp_attempt_result res);
void rp_upstream_attempt_close(struct rp_exchange *x);
/* Another attempt on the same server (a fresh connection after a stale pooled one). */
void rp_upstream_attempt_reopen(struct rp_exchange *x);

/* Wait in the worker's queue for a server below max_conns; false when the queue is full or
 * off. Already queued: stays where it is. */
bool rp_upstream_enqueue(struct rp_exchange *x);
void rp_upstream_dequeue(struct rp_exchange *x);
/* Worker start-up: the queue's timer and wake-up. */
void rp_upstream_queue_init(struct rp_worker *w);

/* The exchange is over: upstream counters released, out of the queue. Idempotent. */
void rp_upstream_exchange_end(struct rp_exchange *x);

/* Answer 503 with Retry-After: no usable server, or the queue wait ran out. */
void rp_upstream_unavailable(struct rp_exchange *x);

#endif
