/* Worker threads: start-up, accept, per-worker config slots, reload pick-up and graceful
 * drain. The main thread owns signals and talks to workers only through rp_srv and
 * rp_loop_wake. */
#include "proxy/worker.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "lb/balancer.h"
#include "proxy/exchange_run.h"
#include "proxy/router.h"
#include "proxy/session.h"
#include "proxy/upstream_pool.h"
#include "proxy/upstream_select.h"

struct rp_server rp_srv;
static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t ready;

struct rp_cfg_slot *rp_cfg_slot_get(struct rp_worker *w)
{
    w->slot->users++;
    return w->slot;
}

static void slot_free_if_done(struct rp_cfg_slot *slot)
{
    if (!slot->current && slot->users == 0) {
        rp_lb_states_free(slot->cfg, slot->lb);
        rp_config_unref(slot->cfg);
        free(slot);
    }
}

void rp_cfg_slot_put(struct rp_worker *w, struct rp_cfg_slot *slot)
{
    slot->users--;
    slot_free_if_done(slot);
}

/* Switch to the published snapshot if it changed. */
static void pick_up_config(struct rp_worker *w)
{
    uint64_t gen = atomic_load(&rp_srv.cfg_gen);
    if (gen == w->cfg_gen)
        return;
    struct rp_cfg_slot *slot = calloc(1, sizeof(*slot));
    if (!slot)
        return; /* try again at the next wake */
    pthread_mutex_lock(&cfg_lock);
    slot->cfg = atomic_load(&rp_srv.cfg);
    rp_config_ref(slot->cfg);
    gen = atomic_load(&rp_srv.cfg_gen);
    pthread_mutex_unlock(&cfg_lock);
    slot->lb = rp_lb_states_new(slot->cfg);
    if (!slot->lb) {
        rp_config_unref(slot->cfg);
        free(slot);
        return;
    }
    slot->current = true;
    struct rp_cfg_slot *old = w->slot;
    w->slot = slot;
    w->cfg_gen = gen;
    if (old) {
        old->current = false;
        slot_free_if_done(old);
    }
}

uint64_t rp_worker_rand(struct rp_worker *w)
{
    uint64_t x = w->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void accept_cb(struct rp_io *io, uint32_t events);

static void accept_again(struct rp_defer *d)
{
    struct rp_listen_io *l = container_of(d, struct rp_listen_io, again);
    accept_cb(&l->io, EPOLLIN);
}

static void accept_resume(struct rp_timer *t)
{
    struct rp_listen_io *l = container_of(t, struct rp_listen_io, backoff);
    accept_cb(&l->io, EPOLLIN);
}

static void accept_cb(struct rp_io *io, uint32_t events)
{
    struct rp_listen_io *l = (struct rp_listen_io *)io;
    struct rp_worker *w = l->w;
    if (w->draining || io->fd < 0)
        return;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(io->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            rp_session_accept(w, fd, l->conf, &ss);
            continue;
        }
        switch (errno) {
        case EAGAIN:
            return;
        case EINTR:
        case ECONNABORTED:
            continue;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            /* out of descriptors or memory: pause this listener instead of spinning */
            if (!w->emfile_logged)
                rp_log_error("accept on %s: %s; pausing accepts briefly", l->conf->name,
                             strerror(errno));
            w->emfile_logged = true;
            rp_timer_arm(&w->loop, &l->backoff, 100);
            return;
        default:
            rp_log_error("accept on %s: %s", l->conf->name, strerror(errno));
            return;
        }
    }
    rp_defer(&w->loop, &l->again, accept_again);
}

static void close_listeners(struct rp_worker *w)
{
    for (uint32_t i = 0; i < w->nlisteners; i++) {
        struct rp_listen_io *l = &w->listeners[i];
        if (l->io.fd < 0)
            continue;
        rp_timer_disarm(&w->loop, &l->backoff);
        rp_defer_cancel(&w->loop, &l->again);
        close(l->io.fd);
        l->io.fd = -1;
    }
}

static void drain_expired(struct rp_timer *t)
{
    struct rp_worker *w = container_of(t, struct rp_worker, drain_timer);
    rp_log_warn("worker %u: drain timeout, closing %u connections", w->id, w->nsessions);
    while (w->sessions)
        rp_session_drain(w->sessions, true);
}

static void begin_drain(struct rp_worker *w)
{
    if (w->draining)
        return;
    w->draining = true;
    close_listeners(w);
    rp_pool_close_all(w);
    for (struct rp_session *s = w->sessions, *n; s; s = n) {
        n = s->next;
        rp_session_drain(s, false);
    }
    if (w->nsessions == 0)
        w->exit = true;
    else
        rp_timer_arm(&w->loop, &w->drain_timer, w->slot->cfg->timeouts.drain);
}

void rp_worker_session_closed(struct rp_worker *w)
{
    if (w->draining && w->nsessions == 0)
        w->exit = true;
}

/* Once a second: a worker that started no exchange since the last tick gives its spare buffers
 * back, so that a burst leaves no memory behind idle keep-alive connections. */
static void housekeeping(struct rp_timer *t)
{
    struct rp_worker *w = container_of(t, struct rp_worker, housekeeping);
    if (w->nexchanges == w->nexchanges_seen && !w->trimmed) {
        rp_buf_pool_shrink(8);
        rp_arena_cache_drain(8);
        rp_exchange_cache_drain(8);
#ifndef RP_PLAIN_ALLOC
        /* once per quiet period: return the freed heap pages. Not in plain_alloc (sanitizer)
         * builds: the sanitizer owns the heap there, so trimming glibc's arenas gains nothing
         * and only adds glibc allocator activity to what the sanitizer run exercises */
        malloc_trim(0);
#endif
        w->trimmed = true;
    } else if (w->nexchanges != w->nexchanges_seen) {
        w->trimmed = false;
    }
    w->nexchanges_seen = w->nexchanges;
    rp_timer_arm(&w->loop, t, 1000);
}

static void on_wake(struct rp_loop *loop)
{
    struct rp_worker *w = loop->data;
    pick_up_config(w);
    if (atomic_load(&rp_srv.stopping))
        begin_drain(w);
}

static void *worker_main(void *arg)
{
    struct rp_worker *w = arg;
    int rc = rp_loop_init(&w->loop);
    w->loop.data = w;
    w->loop.on_wake = on_wake;
    rp_timer_init(&w->drain_timer, drain_expired);
    rp_timer_init(&w->housekeeping, housekeeping);
    rp_upstream_queue_init(w);
    rp_timer_arm(&w->loop, &w->housekeeping, 1000);
    pick_up_config(w);
    for (uint32_t i = 0; rc == 0 && i < w->nlisteners; i++)
        rc = rp_loop_add(&w->loop, &w->listeners[i].io, EPOLLIN);
    pthread_barrier_wait(&ready);
    if (rc < 0) {
        rp_log_error("worker %u: cannot start its event loop: %s", w->id, strerror(-rc));
        return NULL;
    }
    while (!w->exit) {
        rp_loop_run_once(&w->loop, 1000);
        if (atomic_load(&rp_srv.stopping) && !w->draining)
            begin_drain(w);
    }
    close_listeners(w);
    rp_pool_close_all(w);
    rp_timer_disarm(&w->loop, &w->housekeeping);
    for (int i = 0; i < 16 && w->loop.defer_head; i++)
        rp_loop_run_once(&w->loop, 0); /* run the deferred frees */
    if (w->slot) {
        w->slot->current = false;
        slot_free_if_done(w->slot);
        w->slot = NULL;
    }
    rp_buf_pool_drain();
    rp_upstream_select_thread_end();
    rp_arena_cache_drain(0);
    rp_exchange_cache_drain(0);
    rp_router_thread_exit();
    rp_loop_close(&w->loop);
    return NULL;
}

/* SO_REUSEPORT would let a second rampart bind the same address silently and steal half of
 * the connections: a plain bind first tells whether anything else already listens there. */
static int probe_address(const struct rp_listener_conf *l)
{
    int fd = socket(l->addr.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l->addr.ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    int rc = bind(fd, (const struct sockaddr *)&l->addr.ss, l->addr.len) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int open_listener(const struct rp_listener_conf *l, int *out)
{
    int fd = socket(l->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (l->addr.ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&l->addr.ss, l->addr.len) < 0 || listen(fd, 4096) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    *out = fd;
    return 0;
}

int rp_workers_start(struct rp_config *cfg, unsigned n)
{
    atomic_store(&rp_srv.cfg, cfg);
    atomic_store(&rp_srv.cfg_gen, 1);
    rp_srv.nworkers = n;
    rp_srv.workers = calloc(n, sizeof(*rp_srv.workers));
    if (!rp_srv.workers)
        return -ENOMEM;
    for (uint32_t j = 0; j < cfg->nlisteners; j++) {
        int rc = probe_address(&cfg->listeners[j]);
        if (rc < 0) {
            rp_log_error("cannot listen on %s: %s", cfg->listeners[j].name, strerror(-rc));
            return rc;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        struct rp_worker *w = &rp_srv.workers[i];
        w->id = i;
        w->rng = ((uint64_t)rand() << 32 | (uint64_t)rand()) ^ (0x9E3779B97F4A7C15ULL * (i + 1));
        w->nlisteners = cfg->nlisteners;
        w->listeners = calloc(cfg->nlisteners, sizeof(*w->listeners));
        if (!w->listeners)
            return -ENOMEM;
        for (uint32_t j = 0; j < cfg->nlisteners; j++) {
            struct rp_listen_io *l = &w->listeners[j];
            l->w = w;
            l->conf = &cfg->listeners[j];
            l->io.cb = accept_cb;
            rp_timer_init(&l->backoff, accept_resume);
            int rc = open_listener(l->conf, &l->io.fd);
            if (rc < 0) {
                rp_log_error("cannot listen on %s: %s", l->conf->name, strerror(-rc));
                return rc;
            }
        }
    }
    pthread_barrier_init(&ready, NULL, n + 1);
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&rp_srv.workers[i].thread, NULL, worker_main, &rp_srv.workers[i]);
        if (rc)
            return -rc;
    }
    pthread_barrier_wait(&ready);
    return 0;
}

struct rp_config *rp_config_acquire_current(uint64_t *gen)
{
    pthread_mutex_lock(&cfg_lock);
    struct rp_config *cfg = atomic_load(&rp_srv.cfg);
    if (cfg)
        rp_config_ref(cfg);
    if (gen)
        *gen = atomic_load(&rp_srv.cfg_gen);
    pthread_mutex_unlock(&cfg_lock);
    return cfg;
}

void rp_workers_publish(struct rp_config *cfg)
{
    pthread_mutex_lock(&cfg_lock);
    struct rp_config *old = atomic_exchange(&rp_srv.cfg, cfg);
    atomic_fetch_add(&rp_srv.cfg_gen, 1);
    pthread_mutex_unlock(&cfg_lock);
    rp_config_unref(old);
    for (unsigned i = 0; i < rp_srv.nworkers; i++)
        rp_loop_wake(&rp_srv.workers[i].loop);
}

void rp_workers_stop_and_join(void)
{
    atomic_store(&rp_srv.stopping, true);
    for (unsigned i = 0; i < rp_srv.nworkers; i++)
        rp_loop_wake(&rp_srv.workers[i].loop);
    for (unsigned i = 0; i < rp_srv.nworkers; i++) {
        pthread_join(rp_srv.workers[i].thread, NULL);
        free(rp_srv.workers[i].listeners);
        free(rp_srv.workers[i].pools);
    }
    free(rp_srv.workers);
    rp_srv.workers = NULL;
    rp_srv.nworkers = 0;
}
