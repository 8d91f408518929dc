/* Shared runtime state of upstreams and servers (see server_state.h): the registry that keeps
 * it across reloads, usability and slow-start weights, attempt accounting with peak-EWMA
 * latency and passive ejection, and active-check results with rise/fall. */
#include "lb/server_state.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"

/* ---- registry ---- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rp_server_rt *reg_servers;
static struct rp_upstream_rt *reg_upstreams;

static struct rp_upstream_rt *upstream_rt_get(const char *key)
{
    for (struct rp_upstream_rt *r = reg_upstreams; r; r = r->reg_next)
        if (!strcmp(r->key, key)) {
            atomic_fetch_add(&r->refs, 1);
            return r;
        }
    struct rp_upstream_rt *r = calloc(1, sizeof(*r));
    if (!r || !(r->key = strdup(key))) {
        free(r);
        return NULL;
    }
    atomic_init(&r->refs, 1);
    r->reg_next = reg_upstreams;
    reg_upstreams = r;
    return r;
}

static struct rp_server_rt *server_rt_get(const char *key, bool *fresh)
{
    for (struct rp_server_rt *r = reg_servers; r; r = r->reg_next)
        if (!strcmp(r->key, key)) {
            atomic_fetch_add(&r->refs, 1);
            *fresh = false;
            return r;
        }
    struct rp_server_rt *r = calloc(1, sizeof(*r));
    if (!r || !(r->key = strdup(key))) {
        free(r);
        return NULL;
    }
    atomic_init(&r->refs, 1);
    atomic_init(&r->healthy, true);
    r->reg_next = reg_servers;
    reg_servers = r;
    *fresh = true;
    return r;
}

static void upstream_rt_put(struct rp_upstream_rt *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    for (struct rp_upstream_rt **pp = &reg_upstreams; *pp; pp = &(*pp)->reg_next)
        if (*pp == r) {
            *pp = r->reg_next;
            break;
        }
    free(r->key);
    free(r);
}

static void server_rt_put(struct rp_server_rt *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    for (struct rp_server_rt **pp = &reg_servers; *pp; pp = &(*pp)->reg_next)
        if (*pp == r) {
            *pp = r->reg_next;
            break;
        }
    free(r->key);
    free(r);
}

static void detach(void *arg)
{
    struct rp_config *cfg = arg;
    pthread_mutex_lock(&reg_lock);
    for (uint32_t i = 0; i < cfg->nupstreams; i++) {
        struct rp_upstream_conf *u = &cfg->upstreams[i];
        for (uint32_t j = 0; j < u->nservers; j++)
            if (u->servers[j].rt)
                server_rt_put(u->servers[j].rt);
        if (u->rt)
            upstream_rt_put(u->rt);
    }
    pthread_mutex_unlock(&reg_lock);
}

/* The identity under which a server's state survives a reload: its address as configured,
 * or for a resolve slot the name, port and slot number. Whole, however long the names (a cut
 * key would merge the state of different servers). Returns the length; out holds at most
 * cap - 1 bytes of it. */
static size_t server_key(const struct rp_upstream_conf *u, const struct rp_server_conf *s,
                         char *out, size_t cap)
{
    int n;
    if (s->resolve)
        n = snprintf(out, cap, "%s\n%s:%u#%u", u->name, s->host ? s->host : "", s->port, s->slot);
    else
        n = snprintf(out, cap, "%s\n%s", u->name, s->addr.text);
    return n < 0 ? 0 : (size_t)n;
}

bool rp_lb_state_attach(struct rp_config *cfg)
{
    bool ok = true;
    pthread_mutex_lock(&reg_lock);
    for (uint32_t i = 0; i < cfg->nupstreams; i++) {
        struct rp_upstream_conf *u = &cfg->upstreams[i];
        if (!(u->rt = upstream_rt_get(u->name))) {
            ok = false;
            continue;
        }
        for (uint32_t j = 0; j < u->nservers; j++) {
            struct rp_server_conf *s = &u->servers[j];
            char small[256], *key = small;
            size_t need = server_key(u, s, small, sizeof(small)) + 1;
            if (need > sizeof(small) && (key = malloc(need)))
                server_key(u, s, key, need);
            bool fresh;
            struct rp_server_rt *rt = key ? server_rt_get(key, &fresh) : NULL;
            if (key != small)
                free(key);
            if (!(s->rt = rt)) {
                ok = false;
                continue;
            }
            atomic_store(&rt->admin_drain, s->drain);
            if (!u->health) { /* no active checks (now): nothing can bring it back up */
                atomic_store(&rt->healthy, true);
                atomic_store(&rt->hc_fall, 0);
            }
            if (fresh) {
                bool has = !s->resolve || s->addr.len;
                rt->addr = s->addr;
                atomic_store(&rt->present, has);
            }
        }
    }
    pthread_mutex_unlock(&reg_lock);
    /* registered even after a failure: detach drops whatever was taken */
    if (rp_config_on_free(cfg, detach, cfg) != 0) {
        detach(cfg);
        for (uint32_t i = 0; i < cfg->nupstreams; i++) {
            cfg->upstreams[i].rt = NULL;
            for (uint32_t j = 0; j < cfg->upstreams[i].nservers; j++)
                cfg->upstreams[i].servers[j].rt = NULL;
        }
        return false;
    }
    return ok;
}

/* ---- state and weights ---- */

enum rp_server_state rp_server_state(const struct rp_server_conf *srv, uint64_t now_ms)
{
    const struct rp_server_rt *rt = srv->rt;
    if (!rt)
        return srv->drain ? RP_SRV_DRAIN : RP_SRV_UP;
    if (!atomic_load_explicit(&rt->present, memory_order_acquire))
        return RP_SRV_ABSENT;
    if (atomic_load_explicit(&rt->admin_drain, memory_order_relaxed))
        return RP_SRV_DRAIN;
    if (!atomic_load_explicit(&rt->healthy, memory_order_relaxed))
        return RP_SRV_DOWN;
    uint64_t until = atomic_load_explicit(&rt->ejected_until_ms, memory_order_relaxed);
    if (until && now_ms < until)
        return RP_SRV_EJECTED;
    return RP_SRV_UP;
}

const char *rp_server_state_name(enum rp_server_state st)
{
    static const char *const names[] = {"up", "down", "ejected", "drain", "absent"};
    return (unsigned)st < 5 ? names[st] : "?";
}

uint32_t rp_server_eff_weight(const struct rp_server_conf *srv, uint64_t now_ms)
{
    if (!rp_server_usable(srv, now_ms))
        return 0;
    uint64_t w = (uint64_t)(srv->weight ? srv->weight : 1) * 1000;
    uint64_t since =
        srv->rt ? atomic_load_explicit(&srv->rt->up_since_ms, memory_order_relaxed) : 0;
    if (srv->slow_start && since && now_ms < since + srv->slow_start) {
        w = w * (now_ms > since ? now_ms - since : 0) / srv->slow_start;
        if (w < 1)
            w = 1;
    }
    return (uint32_t)w;
}

bool rp_server_addr(const struct rp_server_conf *srv, struct rp_sockaddr *out)
{
    struct rp_server_rt *rt = srv->rt;
    if (!srv->resolve || !rt) {
        *out = srv->addr;
        return true;
    }
    for (;;) {
        unsigned seq = atomic_load_explicit(&rt->addr_seq, memory_order_acquire);
        if (seq & 1)
            continue; /* the resolver is writing it: a few stores */
        bool has = atomic_load_explicit(&rt->present, memory_order_acquire);
        memcpy(out, &rt->addr, sizeof(*out));
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&rt->addr_seq, memory_order_relaxed) == seq)
            return has;
    }
}

void rp_server_addr_set(const struct rp_server_conf *srv, const struct rp_sockaddr *addr)
{
    struct rp_server_rt *rt = srv->rt;
    if (!rt)
        return;
    atomic_store_explicit(&rt->present, false, memory_order_release);
    atomic_fetch_add_explicit(&rt->addr_seq, 1, memory_order_acq_rel);
    atomic_thread_fence(memory_order_release);
    if (addr)
        rt->addr = *addr;
    else
        memset(&rt->addr, 0, sizeof(rt->addr));
    atomic_fetch_add_explicit(&rt->addr_seq, 1, memory_order_release);
    /* a new address is a new server: nothing learnt about the old one applies */
    atomic_store(&rt->healthy, true);
    atomic_store(&rt->hc_rise, 0);
    atomic_store(&rt->hc_fall, 0);
    atomic_store(&rt->consec_fail, 0);
    atomic_store(&rt->ejections, 0);
    atomic_store(&rt->ejected_until_ms, 0);
    atomic_store(&rt->ewma_ns, 0);
    atomic_store(&rt->up_since_ms, addr ? rp_clock_mono_ms() : 0);
    if (addr)
        atomic_store_explicit(&rt->present, true, memory_order_release);
}

/* ---- attempts: counters, latency, passive ejection ---- */

#define EWMA_DECAY_US 10e6 /* latency samples fade with this time constant */

static void ewma_sample(struct rp_server_rt *rt, uint64_t latency_us, uint64_t now_us)
{
    double sample = (double)latency_us * 1000.0;
    double prev = (double)atomic_load_explicit(&rt->ewma_ns, memory_order_relaxed);
    uint64_t stamp = atomic_exchange_explicit(&rt->ewma_stamp_us, now_us, memory_order_relaxed);
    double next;
    if (prev == 0 || sample > prev) {
        next = sample; /* peak: a slow response counts at once */
    } else {
        double dt = now_us > stamp ? (double)(now_us - stamp) : 0;
        double keep = exp(-dt / EWMA_DECAY_US);
        next = prev * keep + sample * (1 - keep);
    }
    atomic_store_explicit(&rt->ewma_ns, (uint64_t)next, memory_order_relaxed);
}

/* Read with the decay since the last sample applied, as if zeros had been observed since: a
 * server that stopped being picked because of one slow answer drifts back into contention
 * instead of starving forever. */
uint64_t rp_server_ewma_ns(const struct rp_server_conf *srv, uint64_t now_us)
{
    if (!srv->rt)
        return 0;
    uint64_t v = atomic_load_explicit(&srv->rt->ewma_ns, memory_order_relaxed);
    uint64_t stamp = atomic_load_explicit(&srv->rt->ewma_stamp_us, memory_order_relaxed);
    if (!v || now_us <= stamp)
        return v;
    uint64_t d = (uint64_t)((double)v * exp(-(double)(now_us - stamp) / EWMA_DECAY_US));
    return d ? d : 1; /* still "has samples" */
}

static const char *result_name(enum rp_attempt_result r)
{
    switch (r) {
    case RP_ATTEMPT_CONNECT_FAIL:
        return "connect failures";
    case RP_ATTEMPT_TIMEOUT:
        return "timeouts";
    case RP_ATTEMPT_RESET:
        return "connections closed before a response";
    case RP_ATTEMPT_5XX:
        return "5xx responses";
    default:
        return "failures";
    }
}

/* Eject srv unless that would put more than outlier.max_ejected percent of u out, counting
 * servers already ejected or down by health checks (one server may always go, unless it is
 * the only one: like nginx, a lone server is never taken out by failures, since 503 for
 * everyone would not be better than its errors). */
static void maybe_eject(const struct rp_upstream_conf *u, const struct rp_server_conf *srv,
                        enum rp_attempt_result why, uint64_t now_ms)
{
    struct rp_server_rt *rt = srv->rt;
    const struct rp_outlier_conf *o = &u->outlier;
    uint32_t out = 0, present = 0;
    for (uint32_t i = 0; i < u->nservers; i++) {
        enum rp_server_state st = rp_server_state(&u->servers[i], now_ms);
        present += st != RP_SRV_ABSENT;
        if (&u->servers[i] != srv && (st == RP_SRV_EJECTED || st == RP_SRV_DOWN))
            out++;
    }
    uint32_t cap = present * o->max_ejected / 100;
    if (cap < 1 && present > 1)
        cap = 1;
    if (out + 1 > cap)
        return;
    uint64_t until = atomic_load(&rt->ejected_until_ms);
    if (until && now_ms < until)
        return;
    unsigned n = atomic_fetch_add(&rt->ejections, 1) + 1;
    uint64_t t = o->base_ejection;
    for (unsigned i = 1; i < n && t < o->max_ejection; i++)
        t *= 2;
    if (t > o->max_ejection)
        t = o->max_ejection;
    if (!atomic_compare_exchange_strong(&rt->ejected_until_ms, &until, now_ms + t))
        return; /* another worker ejected it just now */
    if (u->rt && !until)
        atomic_fetch_add(&u->rt->ejected, 1);
    atomic_store(&rt->up_since_ms, now_ms + t); /* slow start runs from its return */
    atomic_store(&rt->consec_fail, 0);
    rp_log_warn("upstream %s: server %s ejected for %.1fs after %u consecutive %s", u->name,
                srv->resolve ? rt->addr.text : srv->addr.text, (double)t / 1000.0, o->failures,
                result_name(why));
}

void rp_server_attempt_result(const struct rp_upstream_conf *u, const struct rp_server_conf *srv,
                              enum rp_attempt_result res, uint64_t latency_us, uint64_t now_ms)
{
    struct rp_server_rt *rt = srv->rt;
    if (!rt || res == RP_ATTEMPT_CANCELLED)
        return;
    /* an ejection that ran out: say so once (whoever sees it first) */
    uint64_t until = atomic_load_explicit(&rt->ejected_until_ms, memory_order_relaxed);
    if (until && now_ms >= until &&
        atomic_compare_exchange_strong(&rt->ejected_until_ms, &until, 0)) {
        if (u->rt)
            atomic_fetch_sub(&u->rt->ejected, 1);
        rp_log_info("upstream %s: server %s serves again after its ejection", u->name,
                    srv->resolve ? rt->addr.text : srv->addr.text);
    }
    if (res == RP_ATTEMPT_OK || res == RP_ATTEMPT_5XX)
        ewma_sample(rt, latency_us, now_ms * 1000);
    if (res == RP_ATTEMPT_OK) {
        atomic_store_explicit(&rt->consec_fail, 0, memory_order_relaxed);
        /* ejections stop growing once it has served well for a base period */
        uint64_t since = atomic_load_explicit(&rt->up_since_ms, memory_order_relaxed);
        if (atomic_load_explicit(&rt->ejections, memory_order_relaxed) &&
            now_ms > since + u->outlier.base_ejection)
            atomic_store(&rt->ejections, 0);
        return;
    }
    atomic_fetch_add_explicit(&rt->failures, 1, memory_order_relaxed);
    unsigned n = atomic_fetch_add_explicit(&rt->consec_fail, 1, memory_order_relaxed) + 1;
    if (u->outlier.failures && n >= u->outlier.failures)
        maybe_eject(u, srv, res, now_ms);
}

/* ---- retry budget ---- */

#define BUDGET_WINDOW_MS 10000

/* The slot of the current window, clearing the one that a new window reuses. Races only blur
 * the count at a window boundary (a few increments land in the old window). */
static unsigned budget_slot(struct rp_upstream_rt *rt, uint64_t now_ms)
{
    uint64_t win = now_ms / BUDGET_WINDOW_MS;
    uint64_t cur = atomic_load_explicit(&rt->budget_window, memory_order_relaxed);
    if (cur != win && atomic_compare_exchange_strong(&rt->budget_window, &cur, win)) {
        if (win > cur + 1) { /* both windows are old */
            atomic_store(&rt->budget_requests[(win + 1) & 1], 0);
            atomic_store(&rt->budget_retries[(win + 1) & 1], 0);
        }
        atomic_store(&rt->budget_requests[win & 1], 0);
        atomic_store(&rt->budget_retries[win & 1], 0);
    }
    return (unsigned)(win & 1);
}

void rp_lb_budget_request(const struct rp_upstream_conf *u, uint64_t now_ms)
{
    if (u->rt)
        atomic_fetch_add_explicit(&u->rt->budget_requests[budget_slot(u->rt, now_ms)], 1,
                                  memory_order_relaxed);
}

bool rp_lb_budget_retry(const struct rp_upstream_conf *u, uint64_t now_ms)
{
    struct rp_upstream_rt *rt = u->rt;
    if (!rt)
        return true;
    unsigned slot = budget_slot(rt, now_ms);
    uint64_t req = atomic_load_explicit(&rt->budget_requests[0], memory_order_relaxed) +
                   atomic_load_explicit(&rt->budget_requests[1], memory_order_relaxed);
    uint64_t ret = atomic_load_explicit(&rt->budget_retries[0], memory_order_relaxed) +
                   atomic_load_explicit(&rt->budget_retries[1], memory_order_relaxed);
    /* the window spans 10 s plus the part of the current one that has passed */
    uint64_t secs = (BUDGET_WINDOW_MS + now_ms % BUDGET_WINDOW_MS) / 1000;
    uint64_t cap = req * u->retries.budget / 100 + (uint64_t)u->retries.budget_min * secs;
    if (ret >= cap) {
        atomic_fetch_add_explicit(&rt->budget_denied, 1, memory_order_relaxed);
        return false;
    }
    atomic_fetch_add_explicit(&rt->budget_retries[slot], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->retries, 1, memory_order_relaxed);
    return true;
}

/* ---- active checks ---- */

void rp_server_check_result(const struct rp_upstream_conf *u, const struct rp_server_conf *srv,
                            bool ok, const char *why)
{
    struct rp_server_rt *rt = srv->rt;
    if (!rt || !u->health)
        return;
    const char *addr = srv->resolve ? rt->addr.text : srv->addr.text;
    if (ok) {
        atomic_store(&rt->hc_fall, 0);
        unsigned n = atomic_fetch_add(&rt->hc_rise, 1) + 1;
        if (!atomic_load(&rt->healthy) && n >= u->health->rise) {
            atomic_store(&rt->up_since_ms, rp_clock_mono_ms());
            atomic_store(&rt->consec_fail, 0);
            /* back by its checks: an ejection from before it went down is over too */
            uint64_t until = atomic_load(&rt->ejected_until_ms);
            if (until && atomic_compare_exchange_strong(&rt->ejected_until_ms, &until, 0) && u->rt)
                atomic_fetch_sub(&u->rt->ejected, 1);
            atomic_store(&rt->healthy, true);
            rp_log_info("upstream %s: server %s is up (%u checks passed)", u->name, addr, n);
        }
    } else {
        atomic_store(&rt->hc_rise, 0);
        unsigned n = atomic_fetch_add(&rt->hc_fall, 1) + 1;
        if (atomic_load(&rt->healthy) && n >= u->health->fall) {
            atomic_store(&rt->healthy, false);
            rp_log_warn("upstream %s: server %s is down (%u checks failed; last: %s)", u->name,
                        addr, n, why ? why : "failed");
        }
    }
}

/* ---- counters ---- */

void rp_lb_state_log(const struct rp_config *cfg)
{
    uint64_t now = rp_clock_mono_ms();
    for (uint32_t i = 0; i < cfg->nupstreams; i++) {
        const struct rp_upstream_conf *u = &cfg->upstreams[i];
        const struct rp_upstream_rt *ur = u->rt;
        if (ur)
            rp_log_info("upstream %s: active %u, retries %llu (denied by budget %llu), 503 "
                        "unavailable %llu, queued %llu (timed out %llu)",
                        u->name, atomic_load(&ur->active),
                        (unsigned long long)atomic_load(&ur->retries),
                        (unsigned long long)atomic_load(&ur->budget_denied),
                        (unsigned long long)atomic_load(&ur->unavailable),
                        (unsigned long long)atomic_load(&ur->queued),
                        (unsigned long long)atomic_load(&ur->queue_timeouts));
        for (uint32_t j = 0; j < u->nservers; j++) {
            const struct rp_server_conf *s = &u->servers[j];
            const struct rp_server_rt *rt = s->rt;
            struct rp_sockaddr addr;
            if (!rt || !rp_server_addr(s, &addr))
                continue;
            rp_log_info("upstream %s: server %s %s, in flight %u, requests %llu, failures %llu, "
                        "latency %.1fms, weight %u",
                        u->name, addr.text, rp_server_state_name(rp_server_state(s, now)),
                        atomic_load(&rt->inflight), (unsigned long long)atomic_load(&rt->requests),
                        (unsigned long long)atomic_load(&rt->failures),
                        (double)atomic_load(&rt->ewma_ns) / 1e6, s->weight);
        }
    }
}
