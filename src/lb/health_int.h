/* Inside the health checker: one check per checked server, shared by the scheduler
 * (health.c: thread, config following, timing) and the probe (health_probe.c: one check's
 * connect, TLS, request and response, all non-blocking on the checker's loop). */
#ifndef RP_LB_HEALTH_INT_H
#define RP_LB_HEALTH_INT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/buf.h"
#include "event/loop.h"
#include "lb/health_http.h"

enum rp_hc_phase { RP_HCP_IDLE, RP_HCP_CONNECT, RP_HCP_HANDSHAKE, RP_HCP_SEND, RP_HCP_RECV };

struct rp_hc_check {
    struct rp_io io; /* the probe's socket while one runs */
    struct rp_loop *loop;
    const struct rp_upstream_conf *u; /* in the snapshot the checker holds */
    const struct rp_server_conf *srv;
    struct rp_timer due;      /* start of the next probe */
    struct rp_timer deadline; /* timeout of the running probe */
    uint64_t next_at;         /* loop ms of the next probe (kept across reloads) */
    uint64_t started_at;      /* loop ms the running (or last) probe started */
    enum rp_hc_phase phase;   /* RP_HCP_IDLE: no probe running */
    bool can_read, can_write, rdhup;
    SSL *ssl;
    struct rp_buf in, out;
    struct rp_hc_resp resp;
    struct rp_sockaddr addr; /* probed now */
    void (*done)(struct rp_hc_check *c);
};

/* Start a probe of c->srv (c idle). Returns false when the server has no address now (a
 * resolve slot): nothing was started and nothing is reported. Otherwise the outcome goes to
 * rp_server_check_result and then c->done(c), possibly before this returns. */
bool rp_hc_probe_start(struct rp_hc_check *c);

/* Stop a running probe without reporting anything (config switch, shutdown). */
void rp_hc_probe_abort(struct rp_hc_check *c);

#endif
