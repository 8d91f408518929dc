/* A worker: one thread with its own event loop, SO_REUSEPORT listeners, buffer pool, upstream
 * keep-alive pools and view of the config. Connections never move between workers. */
#ifndef RP_PROXY_WORKER_H
#define RP_PROXY_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "event/loop.h"

struct rp_session;
struct rp_bconn;
struct rp_h2b_conn;
struct rp_exchange;

/* This worker's reference to one config snapshot. Exchanges pin the slot they started on
 * (a plain counter: only this thread touches it); the snapshot is released when the slot is
 * no longer current and its last exchange ends. */
struct rp_cfg_slot {
    struct rp_config *cfg;
    void **lb; /* balancer state per upstream of cfg, this worker only (src/lb/balancer.h) */
    uint32_t users;
    bool current;
};

struct rp_listen_io {
    struct rp_io io;
    struct rp_worker *w;
    const struct rp_listener_conf *conf;
    struct rp_timer backoff; /* accept paused after EMFILE/ENFILE */
    struct rp_defer again;   /* more connections may be waiting after a batch */
};

/* Pool keys: the server address text, prefixed for TLS (or another protocol) with a hash of
 * the settings, so connections are shared only where they are interchangeable. */
#define RP_POOL_KEY 96

/* Idle keep-alive connections to one backend address, most recently used first; for TLS also
 * the last session the server granted, offered on the next connect. */
struct rp_pool {
    char key[RP_POOL_KEY];
    struct rp_bconn *idle;
    uint32_t nidle;
    struct ssl_session_st *tls_session; /* SSL_SESSION, or NULL */
};

struct rp_worker {
    struct rp_loop loop;
    pthread_t thread;
    unsigned id;

    struct rp_listen_io *listeners;
    uint32_t nlisteners;

    struct rp_cfg_slot *slot; /* current */
    uint64_t cfg_gen;

    struct rp_session *sessions; /* all client connections of this worker (doubly linked) */
    uint32_t nsessions;

    struct rp_pool *pools;
    uint32_t npools;
    struct rp_h2b_conn *h2b_conns; /* HTTP/2 backend connections (src/h2/h2_backend.c) */

    /* exchanges waiting for a server below max_conns (src/proxy/upstream_select.c), FIFO */
    struct rp_exchange *lbq_head, *lbq_tail;
    uint32_t lbq_len;
    struct rp_timer lbq_timer; /* polls while not empty: other workers free servers too */
    struct rp_defer lbq_defer; /* a server of this worker was freed */

    bool draining;
    bool exit;
    uint64_t drain_deadline;
    struct rp_timer drain_timer;
    uint64_t rng; /* xorshift state for request ids */
    bool emfile_logged;
    uint64_t nexchanges;      /* exchanges started, for the idle check */
    uint64_t nexchanges_seen; /* ... at the last housekeeping tick */
    bool trimmed;             /* caches already given back in this quiet period */
    struct rp_timer housekeeping;
};

/* Process-wide state shared by the workers: the current config and its generation. */
struct rp_server {
    _Atomic(struct rp_config *) cfg;
    atomic_uint_fast64_t cfg_gen;
    atomic_bool stopping;
    struct rp_worker *workers;
    unsigned nworkers;
    int *listen_fds; /* per worker, per listener: [w * nlisteners + i] */
};

extern struct rp_server rp_srv;

/* Start n worker threads serving cfg (which the server references). Returns 0 or -errno. */
int rp_workers_start(struct rp_config *cfg, unsigned n);

/* Publish a new snapshot (the caller's reference is taken over); workers switch to it for new
 * exchanges. Thread: main. */
void rp_workers_publish(struct rp_config *cfg);

/* Ask every worker to stop accepting and drain; returns after all threads exited. */
void rp_workers_stop_and_join(void);

/* A reference to the published snapshot, for threads other than workers (health checker,
 * resolver); release with rp_config_unref. *gen: its generation, to notice reloads. */
struct rp_config *rp_config_acquire_current(uint64_t *gen);

/* Pin the worker's current config for a new exchange; release with rp_cfg_slot_put. */
struct rp_cfg_slot *rp_cfg_slot_get(struct rp_worker *w);
void rp_cfg_slot_put(struct rp_worker *w, struct rp_cfg_slot *slot);

/* Called by sessions when they close, so a draining worker can finish. */
void rp_worker_session_closed(struct rp_worker *w);

/* Next pseudo-random 64-bit value of this worker (request ids). */
uint64_t rp_worker_rand(struct rp_worker *w);

#endif
