/* The resolver thread (see resolver.h): follows the published config, keeps one entry per
 * re-resolved name (upstream + host + port) with its schedule, sends A and AAAA queries over
 * non-blocking UDP with a timeout and a retry at the next server, and hands each complete
 * answer to rp_resolver_apply. A failed lookup never clears an address. */
#include "lb/resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "event/loop.h"
#include "lb/resolver_int.h"
#include "lb/server_state.h"
#include "proxy/worker.h"

#define MAX_SERVERS 8
#define MAX_ATTEMPTS 6     /* per query, over the servers in turn */
#define CONFIG_POLL_MS 250 /* how soon a reload is noticed */
#define RESOLV_CONF "/etc/resolv.conf"

struct name_ent;

/* One query (A or AAAA) of a resolution in flight. */
struct query {
    struct rp_timer timer; /* its attempt's timeout */
    struct name_ent *owner;
    uint16_t qtype, id;
    bool pending, failed;
    unsigned attempts, server;
    enum rp_dns_status last; /* for logs; RP_DNS_MALFORMED + 1 = timeout */
    struct rp_dns_result res;
};

struct name_ent {
    struct rp_resolve_name n;
    char *upstream, *host; /* own copies: the entry outlives snapshots */
    struct rp_timer next;  /* the next resolution */
    struct query q[2];     /* A, AAAA */
    bool busy;             /* a resolution is in flight */
    bool failing;          /* the last resolution failed (warned once) */
    bool seen;             /* still in the config being applied */
    struct name_ent *list_next;
};

struct sock {
    struct rp_io io;
    int family;
};

static struct {
    struct rp_loop loop;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    struct rp_config *cfg;
    uint64_t gen;
    struct name_ent *names;
    struct rp_sockaddr servers[MAX_SERVERS];
    unsigned nservers;
    struct sock s4, s6;
    uint64_t timeout_ms, min_ms, max_ms;
} R;

#define TIMEOUT_STATUS ((enum rp_dns_status)(RP_DNS_MALFORMED + 1))

static const char *status_text(enum rp_dns_status st)
{
    return st == TIMEOUT_STATUS ? "timeout" : rp_dns_status_name(st);
}

/* How one query of a finished resolution went, for the failure warning. */
static const char *outcome(const struct query *q)
{
    if (q->failed)
        return status_text(q->last);
    if (q->res.naddrs)
        return "ok";
    return q->last == RP_DNS_NXDOMAIN ? "NXDOMAIN" : "no records";
}

static uint16_t random_id(void)
{
    uint16_t v;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
        return v;
    static uint16_t fallback;
    return (uint16_t)(rp_clock_mono_us() * 2654435761u) ^ ++fallback;
}

/* ---- DNS servers and sockets ---- */

static void load_resolv_conf(void)
{
    FILE *f = fopen(RESOLV_CONF, "r");
    if (!f)
        return;
    char line[512];
    while (R.nservers < MAX_SERVERS && fgets(line, sizeof(line), f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "nameserver", 10) != 0 || (p[10] != ' ' && p[10] != '\t'))
            continue;
        p += 10;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t l = strcspn(p, " \t\r\n#;");
        p[l] = 0;
        struct rp_dns_addr a = {.family = AF_INET};
        if (inet_pton(AF_INET, p, a.bytes) != 1) {
            a.family = AF_INET6;
            if (inet_pton(AF_INET6, p, a.bytes) != 1)
                continue; /* scoped (fe80::1%eth0) or junk: skipped */
        }
        rp_resolver_sockaddr(&a, 53, &R.servers[R.nservers++]);
    }
    fclose(f);
}

static void on_readable(struct rp_io *io, uint32_t events);

static int sock_for(int family)
{
    struct sock *s = family == AF_INET6 ? &R.s6 : &R.s4;
    if (s->io.fd >= 0)
        return s->io.fd;
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    s->io.fd = fd;
    s->io.cb = on_readable;
    s->family = family;
    if (rp_loop_add(&R.loop, &s->io, EPOLLIN) < 0) {
        close(fd);
        s->io.fd = -1;
        return -1;
    }
    return fd;
}

static void sock_close(struct sock *s)
{
    if (s->io.fd >= 0) {
        close(s->io.fd);
        s->io.fd = -1;
    }
}

/* ---- queries ---- */

static void finish(struct name_ent *e);

static unsigned max_attempts(void)
{
    unsigned n = R.nservers < 2 ? 2 : R.nservers;
    return n > MAX_ATTEMPTS ? MAX_ATTEMPTS : n;
}

/* Send (or send again, with a fresh id) q to its current server and arm its timeout. A send
 * error counts as an attempt that the timeout will retire. */
static void send_query(struct query *q)
{
    struct name_ent *e = q->owner;
    q->attempts++;
    q->pending = true;
    q->id = random_id();
    rp_timer_arm(&R.loop, &q->timer, R.timeout_ms);
    if (!R.nservers)
        return;
    const struct rp_sockaddr *srv = &R.servers[q->server % R.nservers];
    uint8_t buf[RP_DNS_QUERY_MAX];
    ssize_t n = rp_dns_build_query(buf, sizeof(buf), q->id, e->host, q->qtype, true);
    int fd = sock_for(srv->ss.ss_family);
    if (n < 0 || fd < 0)
        return;
    if (sendto(fd, buf, (size_t)n, 0, (const struct sockaddr *)&srv->ss, srv->len) < 0)
        rp_log_debug("resolver: send to %s: %s", srv->text, strerror(errno));
}

/* q is over: answered, or out of attempts. */
static void query_done(struct query *q, bool failed, enum rp_dns_status st)
{
    rp_timer_disarm(&R.loop, &q->timer);
    q->pending = false;
    q->failed = failed;
    q->last = st;
    struct name_ent *e = q->owner;
    if (!e->q[0].pending && !e->q[1].pending)
        finish(e);
}

/* q's attempt went wrong (st): the next server, or the end. */
static void query_retry(struct query *q, enum rp_dns_status st)
{
    q->last = st;
    if (q->attempts >= max_attempts() || !R.nservers) {
        query_done(q, true, st);
        return;
    }
    q->server++;
    send_query(q);
}

static void on_query_timeout(struct rp_timer *t)
{
    struct query *q = (struct query *)((char *)t - offsetof(struct query, timer));
    query_retry(q, TIMEOUT_STATUS);
}

static bool from_server(const struct query *q, const struct sockaddr_storage *from)
{
    if (!R.nservers)
        return false;
    const struct rp_sockaddr *srv = &R.servers[q->server % R.nservers];
    if (from->ss_family != srv->ss.ss_family)
        return false;
    if (from->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)from, *b = (const void *)&srv->ss;
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *a = (const void *)from, *b = (const void *)&srv->ss;
    return a->sin6_port == b->sin6_port && !memcmp(&a->sin6_addr, &b->sin6_addr, 16);
}

/* A datagram: find the pending query it answers (id, source, question) and act on it. */
static void on_datagram(const uint8_t *pkt, size_t len, const struct sockaddr_storage *from)
{
    if (len < 2)
        return;
    uint16_t id = (uint16_t)((pkt[0] << 8) | pkt[1]);
    for (struct name_ent *e = R.names; e; e = e->list_next) {
        for (int k = 0; k < 2; k++) {
            struct query *q = &e->q[k];
            if (!q->pending || q->id != id || !from_server(q, from))
                continue;
            enum rp_dns_status st = rp_dns_parse_response(pkt, len, id, e->host, q->qtype, &q->res);
            switch (st) {
            case RP_DNS_MISMATCH:
                continue; /* not this one's answer (ids may collide) */
            case RP_DNS_OK:
                if (q->res.truncated && !q->res.naddrs)
                    query_retry(q, st); /* nothing usable arrived */
                else
                    query_done(q, false, st);
                return;
            case RP_DNS_NXDOMAIN:
                q->res.naddrs = 0;
                query_done(q, false, st);
                return;
            default:
                query_retry(q, st);
                return;
            }
        }
    }
}

static void on_readable(struct rp_io *io, uint32_t events)
{
    (void)events;
    uint8_t buf[4096];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(io->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN; errors of unconnected UDP sockets say nothing useful */
        }
        on_datagram(buf, (size_t)n, &from);
    }
}

/* ---- resolutions ---- */

static void start_resolution(struct rp_timer *t)
{
    struct name_ent *e = (struct name_ent *)((char *)t - offsetof(struct name_ent, next));
    if (e->busy)
        return;
    e->busy = true;
    for (int k = 0; k < 2; k++) {
        struct query *q = &e->q[k];
        q->attempts = 0;
        q->server = 0;
        q->failed = false;
        q->res.naddrs = 0;
        q->res.min_ttl = UINT32_MAX;
    }
    send_query(&e->q[0]);
    send_query(&e->q[1]);
}

/* The addresses of e's slots of one family, kept when that family's lookup failed. */
static uint32_t keep_family(const struct name_ent *e, int family, struct rp_sockaddr *out,
                            uint32_t n, uint32_t cap)
{
    for (uint32_t s = 0; s < e->n.nslots && n < cap; s++) {
        struct rp_sockaddr cur;
        if (e->n.slots[s]->rt && rp_server_addr(e->n.slots[s], &cur) && cur.ss.ss_family == family)
            out[n++] = cur;
    }
    return n;
}

static void finish(struct name_ent *e)
{
    e->busy = false;
    struct rp_sockaddr addrs[2 * RP_DNS_MAX_ADDRS];
    uint32_t n = 0, ttl = UINT32_MAX;
    for (int k = 0; k < 2; k++) {
        const struct query *q = &e->q[k];
        if (q->failed) {
            n = keep_family(e, k ? AF_INET6 : AF_INET, addrs, n, 2 * RP_DNS_MAX_ADDRS);
            continue;
        }
        for (uint32_t i = 0; i < q->res.naddrs; i++)
            rp_resolver_sockaddr(&q->res.addrs[i], e->n.port, &addrs[n++]);
        if (q->res.naddrs && q->res.min_ttl < ttl)
            ttl = q->res.min_ttl;
    }
    const struct query *qa = &e->q[0], *q6 = &e->q[1];
    bool a_failed = qa->failed, got = false;
    for (int k = 0; k < 2; k++)
        got |= !e->q[k].failed && e->q[k].res.naddrs > 0;
    if (!got || a_failed) {
        /* keep what the slots hold: a resolver outage must not empty an upstream */
        if (!e->failing)
            rp_log_warn("upstream %s: %s: lookup failed (A: %s, AAAA: %s); keeping the last "
                        "addresses, retrying every %llums",
                        e->upstream, e->host, outcome(qa), outcome(q6),
                        (unsigned long long)R.min_ms);
        e->failing = true;
        if (got) /* A failed but AAAA answered: take the IPv6 side now */
            rp_resolver_apply(&e->n, addrs, n, ttl == UINT32_MAX ? 0 : ttl);
        rp_timer_arm(&R.loop, &e->next, R.min_ms);
        return;
    }
    if (e->failing)
        rp_log_info("upstream %s: %s: lookups work again", e->upstream, e->host);
    e->failing = false;
    if (q6->failed)
        rp_log_debug("upstream %s: %s: AAAA lookup failed (%s); IPv6 addresses kept", e->upstream,
                     e->host, status_text(q6->last));
    uint32_t ttl_s = ttl == UINT32_MAX ? 0 : ttl;
    rp_resolver_apply(&e->n, addrs, n, ttl_s);
    uint64_t next = (uint64_t)ttl_s * 1000;
    if (next < R.min_ms)
        next = R.min_ms;
    if (next > R.max_ms)
        next = R.max_ms;
    rp_timer_arm(&R.loop, &e->next, next);
}

/* ---- following the config ---- */

static void ent_free(struct name_ent *e)
{
    rp_timer_disarm(&R.loop, &e->next);
    rp_timer_disarm(&R.loop, &e->q[0].timer);
    rp_timer_disarm(&R.loop, &e->q[1].timer);
    free(e->n.slots);
    free(e->upstream);
    free(e->host);
    free(e);
}

static struct name_ent *ent_new(const struct rp_upstream_conf *u, const struct rp_server_conf *s)
{
    struct name_ent *e = calloc(1, sizeof(*e));
    if (!e || !(e->upstream = strdup(u->name)) || !(e->host = strdup(s->host))) {
        if (e)
            free(e->upstream);
        free(e);
        return NULL;
    }
    e->n.port = s->port;
    rp_timer_init(&e->next, start_resolution);
    for (int k = 0; k < 2; k++) {
        e->q[k].owner = e;
        e->q[k].qtype = k ? RP_DNS_TYPE_AAAA : RP_DNS_TYPE_A;
        rp_timer_init(&e->q[k].timer, on_query_timeout);
    }
    rp_timer_arm(&R.loop, &e->next, 0); /* the first lookup right away learns the TTL */
    return e;
}

static struct name_ent *find(struct name_ent *list, const char *up, const char *host, uint16_t port)
{
    for (struct name_ent *e = list; e; e = e->list_next)
        if (e->n.port == port && !strcmp(e->upstream, up) && !strcasecmp(e->host, host))
            return e;
    return NULL;
}

/* Take a new snapshot: settings, servers, and the names with their slots. Names that persist
 * keep their entry (schedule, query in flight, warnings); the others start or stop. */
static void apply_config(struct rp_config *cfg)
{
    R.timeout_ms = cfg->resolver.timeout ? cfg->resolver.timeout : 2000;
    R.min_ms = cfg->resolver.min_interval ? cfg->resolver.min_interval : 1000;
    R.max_ms = cfg->resolver.max_interval > R.min_ms ? cfg->resolver.max_interval : R.min_ms;
    R.nservers = 0;
    for (uint32_t i = 0; i < cfg->resolver.nservers && R.nservers < MAX_SERVERS; i++)
        R.servers[R.nservers++] = cfg->resolver.servers[i];

    struct name_ent *old = R.names, *list = NULL;
    for (struct name_ent *e = old; e; e = e->list_next) {
        e->seen = false;
        e->n.nslots = 0;
    }
    unsigned count = 0;
    for (uint32_t i = 0; i < cfg->nupstreams; i++) {
        const struct rp_upstream_conf *u = &cfg->upstreams[i];
        for (uint32_t j = 0; j < u->nservers; j++) {
            struct rp_server_conf *s = &u->servers[j];
            if (!s->resolve || !s->host)
                continue;
            struct name_ent *e = find(old, u->name, s->host, s->port);
            if (!e) {
                if (!(e = ent_new(u, s))) {
                    rp_log_error("resolver: out of memory for %s", s->host);
                    continue;
                }
                e->list_next = old; /* found by the next slots of the same name */
                old = e;
            }
            struct rp_server_conf **sl = realloc(e->n.slots, (e->n.nslots + 1) * sizeof(*sl));
            if (!sl)
                continue;
            e->n.slots = sl;
            sl[e->n.nslots++] = s;
            e->n.u = u;
            e->n.host = e->host;
            count += !e->seen;
            e->seen = true;
        }
    }
    /* split: seen ones form the new list, the rest go */
    for (struct name_ent *e = old, *nx; e; e = nx) {
        nx = e->list_next;
        if (e->seen && e->n.nslots) {
            e->list_next = list;
            list = e;
        } else {
            ent_free(e);
        }
    }
    R.names = list;
    if (count && !R.nservers)
        load_resolv_conf();
    if (count && !R.nservers)
        rp_log_warn("resolver: no DNS server (resolver.servers is empty and %s has none): "
                    "host names keep their addresses from the load",
                    RESOLV_CONF);
    else if (count)
        rp_log_info("resolver: %u host name(s) re-resolved via %s%s", count, R.servers[0].text,
                    R.nservers > 1 ? " and others" : "");
}

static void check_config(void)
{
    uint64_t gen;
    struct rp_config *cfg = rp_config_acquire_current(&gen);
    if (!cfg)
        return;
    if (R.cfg && gen == R.gen) {
        rp_config_unref(cfg);
        return;
    }
    apply_config(cfg); /* takes pointers into cfg, so the old one goes after */
    if (R.cfg)
        rp_config_unref(R.cfg);
    R.cfg = cfg;
    R.gen = gen;
}

static void *thread_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&R.stop)) {
        check_config();
        rp_loop_run_once(&R.loop, CONFIG_POLL_MS);
    }
    while (R.names) {
        struct name_ent *e = R.names;
        R.names = e->list_next;
        ent_free(e);
    }
    sock_close(&R.s4);
    sock_close(&R.s6);
    if (R.cfg)
        rp_config_unref(R.cfg);
    R.cfg = NULL;
    return NULL;
}

int rp_resolver_start(void)
{
    if (R.started)
        return 0;
    R.s4.io.fd = R.s6.io.fd = -1;
    atomic_store(&R.stop, false);
    int rc = rp_loop_init(&R.loop);
    if (rc < 0)
        goto fail;
    rc = pthread_create(&R.thread, NULL, thread_main, NULL);
    if (rc != 0) {
        rp_loop_close(&R.loop);
        rc = -rc;
        goto fail;
    }
    R.started = true;
    return 0;
fail:
    rp_log_error("resolver: thread not started (%s): host names keep their addresses from the "
                 "load",
                 strerror(-rc));
    return rc;
}

void rp_resolver_stop(void)
{
    if (!R.started)
        return;
    atomic_store(&R.stop, true);
    rp_loop_wake(&R.loop);
    pthread_join(R.thread, NULL);
    rp_loop_close(&R.loop);
    R.started = false;
}
