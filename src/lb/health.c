/* The active health checker (see health.h): one thread with its own event loop that follows
 * the published config, keeps one check per server of every upstream with `health_check:`
 * (scheduled by the server's shared runtime state, so a reload keeps each server's timing) and
 * starts the probes of health_probe.c at interval plus jitter. */
#include "lb/health.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "lb/health_int.h"
#include "lb/server_state.h"
#include "proxy/worker.h"

#define POLL_MS 100 /* how often the published config generation is looked at */

static struct {
    pthread_t thread;
    bool started;
    atomic_bool stop;
    struct rp_loop loop;
    struct rp_config *cfg; /* the snapshot the checks point into (a reference) */
    uint64_t gen;
    struct rp_hc_check *checks; /* sorted by server rt pointer */
    uint32_t nchecks;
    uint64_t rng;
    uint64_t described; /* hash of the last logged description */
} hc;

/* xorshift64*: jitter and first-check spread, nothing that needs to be unpredictable. */
static uint64_t rnd(void)
{
    hc.rng ^= hc.rng >> 12;
    hc.rng ^= hc.rng << 25;
    hc.rng ^= hc.rng >> 27;
    return hc.rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static uint64_t interval_of(const struct rp_hc_check *c)
{
    uint64_t iv = c->u->health->interval;
    return iv ? iv : 5000;
}

/* interval plus 0..jitter% of it */
static uint64_t next_delay(const struct rp_hc_check *c)
{
    uint64_t iv = interval_of(c);
    uint32_t j = c->u->health->jitter > 100 ? 100 : c->u->health->jitter;
    return iv + rnd_below(iv * j / 100 + 1);
}

static void arm_at(struct rp_hc_check *c, uint64_t at)
{
    c->next_at = at;
    rp_timer_arm(&hc.loop, &c->due, at > hc.loop.now ? at - hc.loop.now : 0);
}

/* A probe ended (reported): the next one is due an interval after this one started, or at
 * once when the probe itself took longer. */
static void probe_done(struct rp_hc_check *c)
{
    uint64_t at = c->started_at + next_delay(c);
    arm_at(c, at > hc.loop.now ? at : hc.loop.now);
}

static void on_due(struct rp_timer *t)
{
    struct rp_hc_check *c = container_of(t, struct rp_hc_check, due);
    if (c->phase != RP_HCP_IDLE)
        return;
    if (!rp_hc_probe_start(c)) {
        /* a resolve slot without an address: nothing to check, look again later */
        c->started_at = hc.loop.now;
        probe_done(c);
    }
}

static int by_rt(const void *a, const void *b)
{
    const struct rp_server_rt *x = ((const struct rp_hc_check *)a)->srv->rt;
    const struct rp_server_rt *y = ((const struct rp_hc_check *)b)->srv->rt;
    return x < y ? -1 : x > y;
}

static struct rp_hc_check *find_old(const struct rp_server_rt *rt)
{
    size_t lo = 0, hi = hc.nchecks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct rp_server_rt *m = hc.checks[mid].srv->rt;
        if (m == rt)
            return &hc.checks[mid];
        if (m < rt)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* A duration for the log: "250ms", "2s", "1.5s". */
static const char *dur(uint64_t ms, char *buf, size_t n)
{
    if (ms < 1000)
        snprintf(buf, n, "%ums", (unsigned)ms);
    else if (ms % 1000 == 0)
        snprintf(buf, n, "%us", (unsigned)(ms / 1000));
    else
        snprintf(buf, n, "%.1fs", (double)ms / 1000);
    return buf;
}

/* One line per checked upstream; logged when it differs from what was logged last (at start,
 * and after a reload that changed the checks). */
static void describe(const struct rp_config *cfg)
{
    uint64_t h = 0;
    char lines[64][256];
    uint32_t n = 0;
    for (uint32_t i = 0; i < cfg->nupstreams; i++) {
        const struct rp_upstream_conf *u = &cfg->upstreams[i];
        const struct rp_health_conf *hp = u->health;
        if (!hp)
            continue;
        char what[160];
        if (hp->type == RP_HC_TCP)
            snprintf(what, sizeof(what), "tcp%s", u->tls ? "+tls" : "");
        else
            snprintf(what, sizeof(what), "%s %s %s", u->tls ? "https" : "http",
                     hp->method ? hp->method : "GET", hp->path ? hp->path : "/");
        char line[256], d1[16], d2[16];
        snprintf(line, sizeof(line),
                 "health checks: upstream %s: %s on %u servers every %s (+0-%u%%), "
                 "timeout %s, rise %u, fall %u",
                 u->name, what, u->nservers, dur(hp->interval ? hp->interval : 5000, d1, 16),
                 hp->jitter, dur(hp->timeout ? hp->timeout : 2000, d2, 16), hp->rise, hp->fall);
        h = h * 31 + rp_hash64(line, strlen(line));
        if (n < 64)
            memcpy(lines[n++], line, sizeof(line));
    }
    if (!n)
        h = 0; /* none: worth a line only when there were some before */
    if (h == hc.described)
        return;
    hc.described = h;
    for (uint32_t i = 0; i < n; i++)
        rp_log_info("%s", lines[i]);
    if (!n)
        rp_log_info("health checks: none configured any more");
}

/* Build the checks of cfg, taking over each server's schedule from the current ones by its
 * runtime state; then drop the current ones (their running probes are aborted and start
 * again at once on the new config) and the old snapshot. */
static void switch_to(struct rp_config *cfg, uint64_t gen)
{
    uint32_t n = 0;
    for (uint32_t i = 0; cfg && i < cfg->nupstreams; i++)
        if (cfg->upstreams[i].health)
            n += cfg->upstreams[i].nservers;
    struct rp_hc_check *checks = n ? calloc(n, sizeof(*checks)) : NULL;
    if (n && !checks) {
        rp_log_error("health checks: out of memory following the new config; keeping the old");
        rp_config_unref(cfg);
        hc.gen = gen; /* do not retry every tick: the next reload will */
        return;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; cfg && i < cfg->nupstreams; i++) {
        const struct rp_upstream_conf *u = &cfg->upstreams[i];
        if (!u->health)
            continue;
        for (uint32_t j = 0; j < u->nservers; j++) {
            if (!u->servers[j].rt)
                continue; /* no runtime state (out of memory at load): nowhere to report */
            checks[k].u = u;
            checks[k].srv = &u->servers[j];
            k++;
        }
    }
    if (k)
        qsort(checks, k, sizeof(*checks), by_rt);
    /* the same server listed twice shares one state: check it once */
    uint32_t m = 0;
    for (uint32_t i = 0; i < k; i++)
        if (!m || checks[m - 1].srv->rt != checks[i].srv->rt)
            checks[m++] = checks[i];
    uint64_t now = hc.loop.now;
    for (uint32_t i = 0; i < m; i++) {
        struct rp_hc_check *c = &checks[i];
        c->loop = &hc.loop;
        c->io.fd = -1;
        c->done = probe_done;
        rp_timer_init(&c->due, on_due);
        rp_timer_init(&c->deadline, NULL);
        struct rp_hc_check *old = find_old(c->srv->rt);
        uint64_t iv = interval_of(c);
        uint64_t at;
        if (!old)
            at = now + rnd_below(iv); /* spread the first checks over one interval */
        else if (old->phase != RP_HCP_IDLE)
            at = now; /* its probe is cut short below: run it again on the new config */
        else
            at = old->next_at < now + iv ? old->next_at : now + iv;
        c->started_at = old ? old->started_at : now;
        arm_at(c, at);
    }
    for (uint32_t i = 0; i < hc.nchecks; i++) {
        rp_hc_probe_abort(&hc.checks[i]);
        rp_timer_disarm(&hc.loop, &hc.checks[i].due);
    }
    /* no probe of the old snapshot runs any more: a server whose upstream has no checks now is
     * up (a probe that failed after the loader reset it must not leave it down for good) */
    for (uint32_t i = 0; cfg && i < cfg->nupstreams; i++) {
        const struct rp_upstream_conf *u = &cfg->upstreams[i];
        for (uint32_t j = 0; !u->health && j < u->nservers; j++)
            if (u->servers[j].rt) {
                atomic_store(&u->servers[j].rt->healthy, true);
                atomic_store(&u->servers[j].rt->hc_fall, 0);
            }
    }
    free(hc.checks);
    if (hc.cfg)
        rp_config_unref(hc.cfg);
    hc.checks = checks;
    hc.nchecks = m;
    hc.cfg = cfg;
    hc.gen = gen;
    if (cfg)
        describe(cfg);
}

/* Look at the published generation; switch when it moved. */
static void follow_config(void)
{
    uint64_t gen = 0;
    struct rp_config *cfg = rp_config_acquire_current(&gen);
    if (cfg == hc.cfg && gen == hc.gen) {
        if (cfg)
            rp_config_unref(cfg);
        return;
    }
    switch_to(cfg, gen);
}

static void *run(void *arg)
{
    (void)arg;
    uint64_t polled = 0;
    follow_config();
    polled = hc.loop.now;
    while (!atomic_load(&hc.stop)) {
        if (rp_loop_run_once(&hc.loop, POLL_MS) < 0)
            usleep(10000); /* epoll failing: do not spin */
        if (hc.loop.now - polled >= POLL_MS) {
            polled = hc.loop.now;
            follow_config();
        }
    }
    switch_to(NULL, hc.gen);
    rp_buf_pool_drain();
    return NULL;
}

int rp_health_start(void)
{
    if (hc.started)
        return -EALREADY;
    int rc = rp_loop_init(&hc.loop);
    if (rc < 0)
        return rc;
    hc.rng = rp_clock_mono_us() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    if (!hc.rng)
        hc.rng = 1;
    atomic_store(&hc.stop, false);
    hc.cfg = NULL;
    hc.gen = 0;
    hc.described = 0;
    rc = pthread_create(&hc.thread, NULL, run, NULL);
    if (rc) {
        rp_loop_close(&hc.loop);
        return -rc;
    }
    hc.started = true;
    return 0;
}

void rp_health_stop(void)
{
    if (!hc.started)
        return;
    atomic_store(&hc.stop, true);
    rp_loop_wake(&hc.loop);
    pthread_join(hc.thread, NULL);
    rp_loop_close(&hc.loop);
    hc.started = false;
}
