/* Runtime state of upstream servers, shared by every worker, the health checker and the
 * resolver: health, ejection, admin state, in-flight and request counters, peak-EWMA latency
 * and (for re-resolved host names) the live address. Config snapshots point at these objects;
 * a registry keyed by upstream name and server identity lets a reload keep them. */
#ifndef RP_LB_SERVER_STATE_H
#define RP_LB_SERVER_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

/* Why a server is not usable now (rp_server_state). */
enum rp_server_state {
    RP_SRV_UP,      /* usable */
    RP_SRV_DOWN,    /* failed its active checks (fall) and has not passed rise since */
    RP_SRV_EJECTED, /* passive outlier ejection until ejected_until */
    RP_SRV_DRAIN,   /* admin state: no new requests; in-flight ones finish */
    RP_SRV_ABSENT,  /* a resolve slot without an address now */
};

struct rp_server_rt {
    /* health: written by the health checker thread, read by all */
    atomic_bool healthy; /* active checks passing (true without checks) */
    atomic_uint hc_rise; /* consecutive passes / failures seen by the checker */
    atomic_uint hc_fall;
    /* passive: written by workers */
    atomic_uint consec_fail;               /* consecutive failed attempts (connect, timeout, 5xx) */
    atomic_uint ejections;                 /* ejections in a row (grows the ejection time) */
    atomic_uint_fast64_t ejected_until_ms; /* rp_clock_mono_ms; 0 = not ejected */
    atomic_uint_fast64_t up_since_ms;      /* last time it became usable again (slow start);
                                              0 = since start (no ramp) */
    atomic_bool admin_drain;               /* runtime admin state (set from conf at load) */
    /* live address of a resolve slot (seqlock: odd while being written) */
    atomic_uint addr_seq;
    struct rp_sockaddr addr;
    atomic_bool present; /* a resolve slot holds an address; always true for static servers */
    /* counters (for balancers and the operations issue) */
    atomic_uint inflight;               /* requests being served, all workers */
    atomic_uint_fast64_t requests;      /* attempts started */
    atomic_uint_fast64_t failures;      /* attempts failed (connect, reset, timeout, 5xx) */
    atomic_uint_fast64_t ewma_ns;       /* peak-EWMA latency, ns */
    atomic_uint_fast64_t ewma_stamp_us; /* when ewma_ns was last updated */
    /* registry */
    atomic_uint refs;
    struct rp_server_rt *reg_next;
    char *key; /* "upstream\nidentity" (heap: whole, however long) */
};

struct rp_upstream_rt {
    atomic_uint active; /* requests in progress on this upstream, all workers */
    /* retry budget: requests and retries in the current and previous 10 s windows, by window
     * parity; budget_window is the number of the current window */
    atomic_uint_fast64_t budget_window;
    atomic_uint_fast64_t budget_requests[2], budget_retries[2];
    atomic_uint ejected;                /* servers currently ejected (approximate; see outlier) */
    atomic_uint_fast64_t retries;       /* retries made */
    atomic_uint_fast64_t budget_denied; /* retries refused by the budget */
    atomic_uint_fast64_t unavailable;   /* 503s because no server was usable */
    atomic_uint_fast64_t queued, queue_timeouts;
    atomic_uint refs;
    struct rp_upstream_rt *reg_next;
    char *key; /* the upstream name (heap) */
};

/* Attach runtime state to every upstream and server of cfg (found by identity in the registry,
 * or new), registering a snapshot cleanup that drops the references. Servers with drain: true
 * get admin_drain set; a new resolve slot starts present iff it has an address. Returns false
 * on OOM. Thread: the loader (the registry has its own lock). */
bool rp_lb_state_attach(struct rp_config *cfg);

/* What state srv is in at now_ms (rp_clock_mono_ms). */
enum rp_server_state rp_server_state(const struct rp_server_conf *srv, uint64_t now_ms);
static inline bool rp_server_usable(const struct rp_server_conf *srv, uint64_t now_ms)
{
    return rp_server_state(srv, now_ms) == RP_SRV_UP;
}

/* Effective weight in thousandths: weight * 1000, scaled down linearly during slow start
 * (never below 1), 0 when not usable. */
uint32_t rp_server_eff_weight(const struct rp_server_conf *srv, uint64_t now_ms);

/* A copy of the server's current address (seqlock read for resolve slots). False when a
 * resolve slot has none. */
bool rp_server_addr(const struct rp_server_conf *srv, struct rp_sockaddr *out);
/* Resolver only: set or clear (addr NULL) a resolve slot's address; resets its health and
 * passive state. */
void rp_server_addr_set(const struct rp_server_conf *srv, const struct rp_sockaddr *addr);

/* Outcome of one attempt, reported by the proxy. */
enum rp_attempt_result {
    RP_ATTEMPT_OK,           /* a response that is not a 5xx */
    RP_ATTEMPT_CONNECT_FAIL, /* refused, unreachable, TLS handshake failed */
    RP_ATTEMPT_TIMEOUT,      /* connect or response timeout */
    RP_ATTEMPT_RESET,        /* closed or reset before a complete response */
    RP_ATTEMPT_5XX,          /* a 5xx response */
    RP_ATTEMPT_CANCELLED,    /* the client went away: says nothing about the server */
};

/* The result of one attempt on srv, reported by the proxy once per attempt: failure counter,
 * peak-EWMA latency (latency_us to the response head; OK and 5xx only), passive ejection
 * (logged with the reason, bounded by outlier.max_ejected), and the log line when an ejected
 * server serves again. In-flight and request counts are the caller's (src/proxy/). */
void rp_server_attempt_result(const struct rp_upstream_conf *u, const struct rp_server_conf *srv,
                              enum rp_attempt_result res, uint64_t latency_us, uint64_t now_ms);

/* Peak-EWMA latency of srv at now_us in ns: the estimate decayed (time constant 10 s) since its
 * last sample; 0 when it has no samples yet. */
uint64_t rp_server_ewma_ns(const struct rp_server_conf *srv, uint64_t now_us);

/* Health checker only: record a check result, applying rise/fall; logs up/down changes with
 * why. */
void rp_server_check_result(const struct rp_upstream_conf *u, const struct rp_server_conf *srv,
                            bool ok, const char *why);

/* The retry budget of u, over a sliding window of 10 to 20 s: a retry is allowed while the
 * retries in the window stay below retries.budget percent of its requests plus
 * retries.budget_min per second. Bursts after a healthy period are covered by the requests
 * that came before; a total outage costs about budget percent extra attempts, not tries times
 * the load. rp_lb_budget_request counts a new request; rp_lb_budget_retry counts and allows a
 * retry, or counts a refusal. */
void rp_lb_budget_request(const struct rp_upstream_conf *u, uint64_t now_ms);
bool rp_lb_budget_retry(const struct rp_upstream_conf *u, uint64_t now_ms);

/* Log one line per upstream and per server of cfg with its state and counters (SIGUSR2). */
void rp_lb_state_log(const struct rp_config *cfg);

/* Name for logs and counters: "up", "down", "ejected", "drain", "absent". */
const char *rp_server_state_name(enum rp_server_state st);

#endif
