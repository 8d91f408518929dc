/* Server selection and attempt accounting for proxied exchanges; see upstream_select.h. */
#include "proxy/upstream_select.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/params.h"
#include "lb/balancer.h"
#include "lb/sticky.h"
#include "proxy/exchange_run.h"
#include "proxy/session.h"

/* ---- request keys ---- */

/* The client address as bytes; for ip_hash an IPv4 client counts by its /24 (as nginx does),
 * so a client that moves within its network keeps its server. */
static size_t client_ip(const struct rp_exchange *x, unsigned char *out, bool group)
{
    const char *ip = x->s->conn ? x->s->conn->peer_ip : x->s->peer_ip;
    if (inet_pton(AF_INET, ip, out) == 1)
        return group ? 3 : 4;
    if (inet_pton(AF_INET6, ip, out) == 1)
        return 16;
    size_t n = strlen(ip);
    memcpy(out, ip, n < 16 ? n : 16);
    return n < 16 ? n : 16;
}

static bool request_key(const struct rp_exchange *x, uint64_t *hash)
{
    const struct rp_upstream_conf *u = x->upstream;
    unsigned char ip[16];
    struct rp_slice v = {0};
    if (u->balancer->key == RP_LB_KEY_CLIENT_NET) {
        *hash = rp_hash64(ip, client_ip(x, ip, true));
        return true;
    }
    switch (u->hash_key.kind) {
    case RP_HK_IP:
        *hash = rp_hash64(ip, client_ip(x, ip, false));
        return true;
    case RP_HK_PATH:
        v = x->norm_path;
        break;
    case RP_HK_HEADER: {
        const struct rp_header *h = rp_msg_find(&x->req, rp_slice_cstr(u->hash_key.name));
        if (!h)
            return false;
        v = h->value;
        break;
    }
    case RP_HK_COOKIE:
        if (!rp_cookie_find(&x->req, u->hash_key.name, &v))
            return false;
        break;
    case RP_HK_QUERY:
        if (!rp_query_param(x->req.query, u->hash_key.name, &v))
            return false;
        break;
    }
    *hash = rp_hash64(v.p, v.n);
    return true;
}

/* ---- selection ---- */

static bool tried(const struct rp_exchange *x, uint32_t idx)
{
    for (uint32_t i = 0; i < x->ntried; i++)
        if (x->tried[i] == idx)
            return true;
    return false;
}

/* Take an in-flight place on srv, within its max_conns. */
static bool acquire(const struct rp_server_conf *srv)
{
    struct rp_server_rt *rt = srv->rt;
    if (!rt)
        return true;
    unsigned cur = atomic_load_explicit(&rt->inflight, memory_order_relaxed);
    do {
        if (srv->max_conns && cur >= srv->max_conns)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&rt->inflight, &cur, cur + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    atomic_fetch_add_explicit(&rt->requests, 1, memory_order_relaxed);
    return true;
}

/* Candidate weights of one tier into w; returns how many candidates, and counts in *full the
 * usable untried servers that are at max_conns. */
static uint32_t tier_weights(const struct rp_exchange *x, bool backup, uint64_t now_ms, uint32_t *w,
                             uint32_t *full)
{
    const struct rp_upstream_conf *u = x->upstream;
    uint32_t n = 0;
    for (uint32_t i = 0; i < u->nservers; i++) {
        const struct rp_server_conf *s = &u->servers[i];
        w[i] = 0;
        if (s->backup != backup)
            continue;
        uint32_t ew = rp_server_eff_weight(s, now_ms);
        if (!ew || tried(x, i))
            continue;
        if (s->max_conns && s->rt &&
            atomic_load_explicit(&s->rt->inflight, memory_order_relaxed) >= s->max_conns) {
            (*full)++;
            continue;
        }
        w[i] = ew;
        n++;
    }
    return n;
}

static void sticky_note(struct rp_exchange *x, struct rp_slice had)
{
    const struct rp_upstream_conf *u = x->upstream;
    char id[RP_STICKY_ID_LEN + 1];
    rp_sticky_id(u, x->server_idx, id);
    if (had.n == RP_STICKY_ID_LEN && !memcmp(had.p, id, RP_STICKY_ID_LEN)) {
        x->sticky_cookie = NULL; /* the client already holds it */
        return;
    }
    char buf[512];
    if (rp_sticky_set_cookie(u, x->server_idx, buf, sizeof(buf)))
        x->sticky_cookie = rp_arena_strdup(&x->arena, buf);
}

static _Thread_local uint32_t *scratch; /* candidate weights of one pick, per worker */
static _Thread_local uint32_t scratch_cap;

void rp_upstream_select_thread_end(void)
{
    free(scratch);
    scratch = NULL;
    scratch_cap = 0;
}

enum rp_select_result rp_upstream_select(struct rp_exchange *x)
{
    const struct rp_upstream_conf *u = x->upstream;
    if (scratch_cap < u->nservers) {
        uint32_t *nw = realloc(scratch, u->nservers * sizeof(*scratch));
        if (!nw)
            return RP_SEL_NONE;
        scratch = nw;
        scratch_cap = u->nservers;
    }
    uint32_t *w = scratch;
    if (!x->tried && !(x->tried = rp_arena_alloc(&x->arena, u->retries.tries * sizeof(uint32_t))))
        return RP_SEL_NONE;
    uint64_t now_ms = rp_clock_mono_ms();
    struct rp_slice had = {0};
    bool sticky = u->sticky.cookie && rp_cookie_find(&x->req, u->sticky.cookie, &had);
    for (int attempt = 0; attempt < 4; attempt++) { /* a lost max_conns race picks again */
        uint32_t full = 0;
        uint32_t n = tier_weights(x, false, now_ms, w, &full);
        if (!n && full)
            return RP_SEL_FULL; /* primaries are busy, not gone: wait for one */
        if (!n && !(n = tier_weights(x, true, now_ms, w, &full)))
            return full ? RP_SEL_FULL : RP_SEL_NONE;
        int idx = -1;
        if (sticky && x->ntried == 0) {
            int s = rp_sticky_find(u, had.p, had.n);
            if (s >= 0 && w[s])
                idx = s;
        }
        if (idx < 0) {
            struct rp_lb_pick p = {
                .u = u, .weight = w, .ncand = n, .rng = &x->w->rng, .now_us = now_ms * 1000};
            if (u->balancer->key != RP_LB_KEY_NONE)
                p.has_key = request_key(x, &p.key_hash);
            void *st = x->slot->lb ? x->slot->lb[u->index] : NULL;
            idx = (int)u->balancer->pick(st, &p);
            if ((uint32_t)idx >= u->nservers || !w[idx])
                continue;
        }
        if (!acquire(&u->servers[idx]))
            continue;
        x->server_idx = (uint32_t)idx;
        x->tried[x->ntried++] = (uint32_t)idx;
        x->attempt_open = true;
        x->attempt_reported = false;
        if (u->sticky.cookie)
            sticky_note(x, had);
        return RP_SEL_OK;
    }
    return RP_SEL_FULL;
}

bool rp_upstream_retry_allowed(struct rp_exchange *x)
{
    return rp_lb_budget_retry(x->upstream, rp_clock_mono_ms());
}

/* ---- attempts ---- */

static void queue_run(struct rp_worker *w);

static void queue_defer_cb(struct rp_defer *d)
{
    queue_run(container_of(d, struct rp_worker, lbq_defer));
}

void rp_upstream_attempt_reopen(struct rp_exchange *x)
{
    struct rp_server_rt *rt = x->upstream->servers[x->server_idx].rt;
    if (x->attempt_open)
        return;
    if (rt)
        atomic_fetch_add_explicit(&rt->inflight, 1, memory_order_relaxed);
    x->attempt_open = true;
    x->attempt_reported = false;
}

void rp_upstream_attempt_result(struct rp_exchange *x, enum rp_attempt_result res)
{
    if (!x->attempt_open || x->attempt_reported)
        return;
    x->attempt_reported = true;
    uint64_t now = rp_clock_mono_us();
    uint64_t lat = now > x->upstream_start_us ? now - x->upstream_start_us : 0;
    rp_server_attempt_result(x->upstream, &x->upstream->servers[x->server_idx], res, lat,
                             now / 1000);
}

void rp_upstream_attempt_close(struct rp_exchange *x)
{
    if (!x->attempt_open)
        return;
    rp_upstream_attempt_result(x, RP_ATTEMPT_CANCELLED);
    x->attempt_open = false;
    struct rp_server_rt *rt = x->upstream->servers[x->server_idx].rt;
    if (rt)
        atomic_fetch_sub_explicit(&rt->inflight, 1, memory_order_relaxed);
    struct rp_worker *w = x->w;
    if (w->lbq_head) /* a place may have opened for a waiting exchange */
        rp_defer(&w->loop, &w->lbq_defer, queue_defer_cb);
}

void rp_upstream_exchange_end(struct rp_exchange *x)
{
    rp_upstream_attempt_close(x);
    rp_upstream_dequeue(x);
    struct rp_upstream_rt *rt = x->upstream ? x->upstream->rt : NULL;
    if (rt && x->lb_active)
        atomic_fetch_sub_explicit(&rt->active, 1, memory_order_relaxed);
    x->lb_active = false;
}

void rp_upstream_unavailable(struct rp_exchange *x)
{
    char extra[64];
    unsigned long long secs = (x->upstream->retry_after + 999) / 1000;
    snprintf(extra, sizeof(extra), "Retry-After: %llu\r\n", secs);
    if (x->upstream->rt)
        atomic_fetch_add_explicit(&x->upstream->rt->unavailable, 1, memory_order_relaxed);
    rp_proxy_release(x, true);
    const char *body = "<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title>"
                       "</head>\n<body><h1>503 Service Unavailable</h1><hr><p>rampart</p>"
                       "</body></html>\n";
    rp_exchange_local_response(x, 503, "text/html; charset=utf-8", body, strlen(body), extra);
}

/* ---- the queue ---- */

#define QUEUE_POLL_MS 10

bool rp_upstream_enqueue(struct rp_exchange *x)
{
    struct rp_worker *w = x->w;
    const struct rp_upstream_conf *u = x->upstream;
    if (x->queued)
        return true;
    if (!u->queue.size)
        return false;
    uint32_t same = 0;
    for (struct rp_exchange *q = w->lbq_head; q; q = q->q_next)
        same += q->upstream == u;
    if (same >= u->queue.size)
        return false;
    x->queued = true;
    x->queue_deadline = w->loop.now + u->queue.timeout;
    x->q_next = NULL;
    x->q_prev = w->lbq_tail;
    if (w->lbq_tail)
        w->lbq_tail->q_next = x;
    else
        w->lbq_head = x;
    w->lbq_tail = x;
    w->lbq_len++;
    if (u->rt)
        atomic_fetch_add_explicit(&u->rt->queued, 1, memory_order_relaxed);
    if (!rp_timer_armed(&w->lbq_timer))
        rp_timer_arm(&w->loop, &w->lbq_timer, QUEUE_POLL_MS);
    return true;
}

void rp_upstream_dequeue(struct rp_exchange *x)
{
    if (!x->queued)
        return;
    struct rp_worker *w = x->w;
    if (x->q_prev)
        x->q_prev->q_next = x->q_next;
    else
        w->lbq_head = x->q_next;
    if (x->q_next)
        x->q_next->q_prev = x->q_prev;
    else
        w->lbq_tail = x->q_prev;
    x->q_next = x->q_prev = NULL;
    x->queued = false;
    w->lbq_len--;
}

/* Offer freed places to waiting exchanges in arrival order; answer those that waited too long. */
static void queue_run(struct rp_worker *w)
{
    struct rp_exchange *next;
    for (struct rp_exchange *x = w->lbq_head; x; x = next) {
        next = x->q_next; /* handling x changes only x's place in the queue */
        struct rp_session *s = x->s;
        if (w->loop.now >= x->queue_deadline) {
            rp_upstream_dequeue(x);
            if (x->upstream->rt)
                atomic_fetch_add_explicit(&x->upstream->rt->queue_timeouts, 1,
                                          memory_order_relaxed);
            rp_log_warn("upstream %s: no server below max_conns within %llums: 503",
                        x->upstream->name, (unsigned long long)x->upstream->queue.timeout);
            rp_upstream_unavailable(x);
        } else {
            rp_proxy_resume(x); /* leaves the queue when it got a server */
        }
        rp_session_kick(s);
    }
    if (w->lbq_head)
        rp_timer_arm(&w->loop, &w->lbq_timer, QUEUE_POLL_MS);
}

static void queue_timer_cb(struct rp_timer *t)
{
    queue_run(container_of(t, struct rp_worker, lbq_timer));
}

void rp_upstream_queue_init(struct rp_worker *w)
{
    rp_timer_init(&w->lbq_timer, queue_timer_cb);
}
