/* Load-balancing keys of an upstream (balance, hash_key, sticky, health_check, outlier,
 * retries, queue, retry_after, resolve), the top-level resolver section, and the expansion of
 * re-resolved host names into address slots once an upstream is read. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/keywords.h"
#include "lb/balancer.h"
#include "lb/sticky.h"

void rp_cfg_balance(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                    void *target)
{
    struct rp_upstream_conf *u = target;
    const char *name;
    if (!rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY, &name))
        return;
    const struct rp_balancer *b = rp_balancer_find(name);
    if (!b) {
        rp_cfg_diag_at(c->d, v, "%s: unknown balancer \"%s\"; expected one of %s", k->key, name,
                       rp_balancer_names());
        return;
    }
    u->balancer = b;
}

void rp_cfg_hash_key(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                     void *target)
{
    struct rp_hash_key_conf *h = &((struct rp_upstream_conf *)target)->hash_key;
    const char *s;
    if (!rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY, &s))
        return;
    static const struct {
        const char *prefix;
        enum rp_hash_key_kind kind;
    } kinds[] = {{"header:", RP_HK_HEADER}, {"cookie:", RP_HK_COOKIE}, {"query:", RP_HK_QUERY}};
    if (!strcmp(s, "ip")) {
        h->kind = RP_HK_IP;
        return;
    }
    if (!strcmp(s, "path")) {
        h->kind = RP_HK_PATH;
        return;
    }
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t n = strlen(kinds[i].prefix);
        if (!strncmp(s, kinds[i].prefix, n) && rp_cfg_is_token(s + n)) {
            h->kind = kinds[i].kind;
            h->name = s + n;
            return;
        }
    }
    rp_cfg_diag_at(c->d, v,
                   "%s: expected ip, path, \"header:NAME\", \"cookie:NAME\" or \"query:NAME\", got "
                   "\"%s\"",
                   k->key, s);
}

/* ---- sticky ---- */

static const struct rp_cfg_key sticky_keys[] = {
    {"cookie", RP_CFG_T_STRING, offsetof(struct rp_sticky_conf, cookie), .required = true,
     .flags = RP_CFG_NONEMPTY | RP_CFG_HEADER, .help = "the cookie name"},
    {"max_age", RP_CFG_T_DURATION, offsetof(struct rp_sticky_conf, max_age), 1000,
     10ULL * 365 * 86400 * 1000, .help = "cookie lifetime (default: a session cookie)"},
    {"path", RP_CFG_T_STRING, offsetof(struct rp_sticky_conf, path),
     .flags = RP_CFG_NONEMPTY | RP_CFG_HEADER, .help = "cookie Path (default /)"},
    {"secure", RP_CFG_T_BOOL, offsetof(struct rp_sticky_conf, secure),
     .help = "mark the cookie Secure (default false)"},
    {"httponly", RP_CFG_T_BOOL, offsetof(struct rp_sticky_conf, httponly),
     .help = "mark the cookie HttpOnly (default true)"},
    {"secret", RP_CFG_T_STRING, offsetof(struct rp_sticky_conf, secret), .flags = RP_CFG_NONEMPTY,
     .help = "key of the cookie ids, so they hold across restarts (default: random per process)"},
};

void rp_cfg_sticky(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                   void *target)
{
    struct rp_sticky_conf *s = &((struct rp_upstream_conf *)target)->sticky;
    s->httponly = true;
    if (v->kind == RP_CFG_SCALAR) { /* sticky: NAME */
        if (rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY | RP_CFG_HEADER, &s->cookie) &&
            !rp_cfg_is_token(s->cookie))
            rp_cfg_diag_at(c->d, v, "%s: \"%s\" is not a valid cookie name", k->key, s->cookie);
        return;
    }
    if (!rp_cfg_want(c, k->key, v, RP_CFG_MAP, "a cookie name or a map {cookie, max_age, ...}"))
        return;
    rp_cfg_apply(c, sticky_keys, RP_CFG_COUNT(sticky_keys), "sticky", v, s);
    s->max_age /= 1000; /* the cookie says seconds */
    if (s->cookie && !rp_cfg_is_token(s->cookie))
        rp_cfg_diag_at(c->d, v, "%s: \"%s\" is not a valid cookie name", k->key, s->cookie);
}

/* ---- health_check ---- */

static void h_hc_type(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                      void *target)
{
    static const char *const names[] = {"http", "tcp"}; /* enum rp_health_type order */
    int i;
    if (rp_cfg_get_enum(c, k->key, v, names, 2, &i))
        ((struct rp_health_conf *)target)->type = (enum rp_health_type)i;
}

/* One accepted status: 200, "2xx" or "200-399". */
static bool status_range(const char *s, struct rp_status_range *r)
{
    char *end;
    if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1] == 'x' && s[2] == 'x') {
        r->lo = (uint16_t)((s[0] - '0') * 100);
        r->hi = (uint16_t)(r->lo + 99);
        return true;
    }
    unsigned long lo = strtoul(s, &end, 10);
    unsigned long hi = lo;
    if (end == s)
        return false;
    if (*end == '-') {
        const char *h = end + 1;
        hi = strtoul(h, &end, 10);
        if (end == h)
            return false;
    }
    if (*end || lo < 100 || hi > 599 || lo > hi)
        return false;
    r->lo = (uint16_t)lo;
    r->hi = (uint16_t)hi;
    return true;
}

static void h_hc_status(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                        const struct rp_cfg_node *v, void *target)
{
    struct rp_health_conf *h = target;
    const struct rp_cfg_node *one[1] = {v};
    const struct rp_cfg_node *const *items = one;
    uint32_t n = 1;
    if (v->kind == RP_CFG_SEQ) {
        items = (const struct rp_cfg_node *const *)v->u.seq.items;
        n = v->u.seq.n;
    }
    if (!n) {
        rp_cfg_diag_at(c->d, v, "%s: at least one status is needed", k->key);
        return;
    }
    h->status = rp_arena_calloc(c->a, n, sizeof(*h->status));
    if (!h->status)
        return;
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        if (!rp_cfg_get_str(c, k->key, items[i], RP_CFG_NONEMPTY, &s))
            continue;
        if (!status_range(s, &h->status[h->nstatus]))
            rp_cfg_diag_at(c->d, items[i],
                           "%s: expected a status (200), a class (\"2xx\") or a range "
                           "(\"200-399\") within 100..599, got \"%s\"",
                           k->key, s);
        else
            h->nstatus++;
    }
}

#define HC(f) offsetof(struct rp_health_conf, f)
static const struct rp_cfg_key health_keys[] = {
    {"type", RP_CFG_T_CUSTOM, .handler = h_hc_type, .help = "http (default) or tcp (connect only)"},
    {"method", RP_CFG_T_STRING, HC(method), .flags = RP_CFG_NONEMPTY,
     .help = "request method (default GET)"},
    {"path", RP_CFG_T_STRING, HC(path), .flags = RP_CFG_NONEMPTY | RP_CFG_HEADER,
     .help = "request path (default /)"},
    {"host", RP_CFG_T_STRING, HC(host), .flags = RP_CFG_NONEMPTY | RP_CFG_HEADER,
     .help = "Host header (default: host_header, else the server's name or address)"},
    {"status", RP_CFG_T_CUSTOM, .handler = h_hc_status,
     .help = "accepted statuses: 200, \"2xx\", \"200-399\" or a list (default 200-399)"},
    {"body", RP_CFG_T_STRING, HC(body), .flags = RP_CFG_NONEMPTY,
     .help = "text the response body must contain"},
    {"interval", RP_CFG_T_DURATION, HC(interval), 10, 3600 * 1000,
     .help = "time between checks of a server (default 5s)"},
    {"timeout", RP_CFG_T_DURATION, HC(timeout), 10, 3600 * 1000,
     .help = "time for one check (default 2s)"},
    {"jitter", RP_CFG_T_U32, HC(jitter), 0, 100,
     .help = "random extra delay, percent of interval (default 10)"},
    {"rise", RP_CFG_T_U32, HC(rise), 1, 100, .help = "passes in a row to come up (default 2)"},
    {"fall", RP_CFG_T_U32, HC(fall), 1, 100, .help = "failures in a row to go down (default 3)"},
};

void rp_cfg_health_check(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                         const struct rp_cfg_node *v, void *target)
{
    struct rp_upstream_conf *u = target;
    if (v->kind == RP_CFG_NULL)
        return;
    if (!rp_cfg_want(c, k->key, v, RP_CFG_MAP, "a map {type, path, interval, rise, fall, ...}"))
        return;
    struct rp_health_conf *h = rp_arena_calloc(c->a, 1, sizeof(*h));
    if (!h)
        return;
    *h = (struct rp_health_conf){.type = RP_HC_HTTP,
                                 .method = "GET",
                                 .path = "/",
                                 .interval = 5000,
                                 .timeout = 2000,
                                 .jitter = 10,
                                 .rise = 2,
                                 .fall = 3};
    rp_cfg_apply(c, health_keys, RP_CFG_COUNT(health_keys), "health_check", v, h);
    if (!rp_cfg_is_token(h->method))
        rp_cfg_diag_at(c->d, v, "health_check: method \"%s\" is not a valid token", h->method);
    if (h->path[0] != '/')
        rp_cfg_diag_at(c->d, v, "health_check: path must start with /");
    for (const char *p = h->path; *p; p++)
        if (*p == ' ' || (unsigned char)*p < 0x21) {
            rp_cfg_diag_at(c->d, v, "health_check: path must not contain spaces or controls");
            break;
        }
    u->health = h;
}

/* ---- outlier, retries, queue ---- */

static const struct rp_cfg_key outlier_keys[] = {
    {"failures", RP_CFG_T_U32, offsetof(struct rp_outlier_conf, failures), 0, 10000,
     .help = "consecutive failures that eject a server; 0 = never (default 5)"},
    {"base_ejection", RP_CFG_T_DURATION, offsetof(struct rp_outlier_conf, base_ejection), 100,
     24 * 3600 * 1000, .help = "first ejection time, doubled for each repeat (default 10s)"},
    {"max_ejection", RP_CFG_T_DURATION, offsetof(struct rp_outlier_conf, max_ejection), 100,
     24 * 3600 * 1000, .help = "longest ejection (default 300s)"},
    {"max_ejected", RP_CFG_T_U32, offsetof(struct rp_outlier_conf, max_ejected), 0, 100,
     .help = "percent of servers that may be ejected at once; one always may (default 50)"},
};

void rp_cfg_outlier(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                    void *target)
{
    struct rp_outlier_conf *o = &((struct rp_upstream_conf *)target)->outlier;
    if (v->kind == RP_CFG_SCALAR) { /* outlier: off */
        bool on;
        if (rp_cfg_get_bool(c, k->key, v, &on) && !on)
            o->failures = 0;
        return;
    }
    if (!rp_cfg_want(c, k->key, v, RP_CFG_MAP, "false or a map {failures, base_ejection, ...}"))
        return;
    rp_cfg_apply(c, outlier_keys, RP_CFG_COUNT(outlier_keys), "outlier", v, o);
    if (o->max_ejection < o->base_ejection)
        rp_cfg_diag_at(c->d, v, "outlier: max_ejection is shorter than base_ejection");
}

static const struct rp_cfg_key retry_keys[] = {
    {"tries", RP_CFG_T_U32, offsetof(struct rp_retry_conf, tries), 1, 100,
     .help = "attempts per request, the first included (default 3)"},
    {"try_timeout", RP_CFG_T_DURATION, offsetof(struct rp_retry_conf, try_timeout), 0,
     24 * 3600 * 1000,
     .help = "wait for a response head per attempt (default timeouts.backend_read)"},
    {"budget", RP_CFG_T_U32, offsetof(struct rp_retry_conf, budget), 0, 100,
     .help = "retries at most this percent of requests, over 10-20 s (default 20)"},
    {"budget_min", RP_CFG_T_U32, offsetof(struct rp_retry_conf, budget_min), 0, 100000,
     .help = "retries per second allowed on top of the percentage (default 3)"},
};

void rp_cfg_retries(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                    void *target)
{
    struct rp_retry_conf *r = &((struct rp_upstream_conf *)target)->retries;
    if (v->kind == RP_CFG_SCALAR) { /* retries: N (tries) */
        uint64_t n;
        if (rp_cfg_get_uint(c, k->key, v, 1, 100, &n))
            r->tries = (uint32_t)n;
        return;
    }
    if (rp_cfg_want(c, k->key, v, RP_CFG_MAP, "a number of tries or a map {tries, budget, ...}"))
        rp_cfg_apply(c, retry_keys, RP_CFG_COUNT(retry_keys), "retries", v, r);
}

static const struct rp_cfg_key queue_keys[] = {
    {"size", RP_CFG_T_U32, offsetof(struct rp_queue_conf, size), 0, 1000000,
     .help = "requests that may wait per worker when every server is at max_conns (default 0)"},
    {"timeout", RP_CFG_T_DURATION, offsetof(struct rp_queue_conf, timeout), 1, 24 * 3600 * 1000,
     .help = "wait before 503 (default 10s)"},
};

void rp_cfg_queue(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                  void *target)
{
    struct rp_upstream_conf *u = target;
    if (rp_cfg_want(c, k->key, v, RP_CFG_MAP, "a map {size, timeout}"))
        rp_cfg_apply(c, queue_keys, RP_CFG_COUNT(queue_keys), "queue", v, &u->queue);
}

void rp_cfg_resolve(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                    void *target)
{
    struct rp_upstream_conf *u = target;
    uint64_t n;
    bool on;
    if (v->kind == RP_CFG_SCALAR && !v->u.scalar.quoted &&
        (!strcmp(v->u.scalar.s, "true") || !strcmp(v->u.scalar.s, "false"))) {
        if (rp_cfg_get_bool(c, k->key, v, &on))
            u->resolve_slots = on ? 8 : 0;
    } else if (rp_cfg_get_uint(c, k->key, v, 1, 64, &n)) {
        u->resolve_slots = (uint32_t)n;
    }
}

/* ---- after the upstream's keys: checks across keys, resolve slots ---- */

/* Each server written by host name becomes resolve_slots slots holding the addresses the
 * system resolver gives now; the resolver thread keeps them current. */
static void expand_resolve_slots(struct rp_cfg_ctx *c, const struct rp_cfg_node *node,
                                 struct rp_upstream_conf *u, const char *what)
{
    uint32_t names = 0;
    for (uint32_t i = 0; i < u->nservers; i++)
        names += u->servers[i].host != NULL;
    if (!names) {
        rp_cfg_diag_at(c->d, node, "%s: resolve is set but no server is given by host name", what);
        return;
    }
    uint32_t n = u->nservers - names + names * u->resolve_slots;
    struct rp_server_conf *all = rp_arena_calloc(c->a, n, sizeof(*all));
    if (!all)
        return;
    uint32_t j = 0;
    for (uint32_t i = 0; i < u->nservers; i++) {
        const struct rp_server_conf *s = &u->servers[i];
        if (!s->host) {
            all[j++] = *s;
            continue;
        }
        uint16_t port = s->port; /* set when the name did not resolve at load */
        if (s->addr.len)
            port = ntohs(s->addr.ss.ss_family == AF_INET6
                             ? ((const struct sockaddr_in6 *)&s->addr.ss)->sin6_port
                             : ((const struct sockaddr_in *)&s->addr.ss)->sin_port);
        struct rp_sockaddr addrs[64];
        int got = rp_sockaddr_resolve_all(s->host, port, addrs, (int)u->resolve_slots);
        for (uint32_t k = 0; k < u->resolve_slots; k++) {
            struct rp_server_conf *slot = &all[j++];
            *slot = *s;
            slot->resolve = true;
            slot->port = port;
            slot->slot = k;
            if ((int)k < got)
                slot->addr = addrs[k];
            else
                memset(&slot->addr, 0, sizeof(slot->addr)); /* empty until DNS fills it */
        }
    }
    u->servers = all;
    u->nservers = n;
}

void rp_cfg_upstream_lb_finish(struct rp_cfg_ctx *c, const struct rp_cfg_node *node,
                               struct rp_upstream_conf *u, const char *what)
{
    uint32_t primaries = 0;
    for (uint32_t i = 0; i < u->nservers; i++)
        primaries += !u->servers[i].backup;
    if (u->nservers && !primaries)
        rp_cfg_diag_at(c->d, node, "%s: every server is a backup; at least one must not be", what);
    if (u->hash_key.kind != RP_HK_IP && strcmp(u->balancer->name, "hash") != 0)
        rp_cfg_diag_at(c->d, node, "%s: hash_key is used only by balance: hash", what);
    const struct rp_cfg_node *list = rp_cfg_map_get(node, "servers");
    for (uint32_t i = 0; !u->resolve_slots && i < u->nservers; i++) {
        const struct rp_server_conf *s = &u->servers[i];
        if (s->host && !s->addr.len) { /* only resolve: may wait for DNS to know a name */
            const struct rp_cfg_node *at =
                list && list->kind == RP_CFG_SEQ && i < list->u.seq.n ? list->u.seq.items[i] : node;
            rp_cfg_diag_at(c->d, at, "server: bad address \"%s:%u\": %s", s->host, s->port,
                           rp_sockaddr_unresolved);
        }
    }
    if (u->resolve_slots && u->servers)
        expand_resolve_slots(c, node, u, what);
    if (u->sticky.cookie && u->servers)
        rp_sticky_assign_ids(u);
}

/* ---- resolver (top level) ---- */

static void h_resolver_servers(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                               const struct rp_cfg_node *v, void *target)
{
    struct rp_config *cfg = target;
    if (!rp_cfg_want(c, k->key, v, RP_CFG_SEQ, "a list of DNS server addresses"))
        return;
    cfg->resolver.servers =
        rp_arena_calloc(c->a, v->u.seq.n ? v->u.seq.n : 1, sizeof(*cfg->resolver.servers));
    if (!cfg->resolver.servers)
        return;
    for (uint32_t i = 0; i < v->u.seq.n; i++) {
        const char *s, *why;
        if (!rp_cfg_get_str(c, k->key, v->u.seq.items[i], RP_CFG_NONEMPTY, &s))
            continue;
        struct rp_sockaddr *a = &cfg->resolver.servers[cfg->resolver.nservers];
        /* a bare IP means port 53 */
        char buf[80];
        bool v6 = strchr(s, ':') && s[0] != '[' && strchr(s, ':') != strrchr(s, ':');
        if (v6)
            snprintf(buf, sizeof(buf), "[%s]:53", s);
        else if (!strchr(s, ':') || (s[0] == '[' && !strstr(s, "]:")))
            snprintf(buf, sizeof(buf), "%s:53", s);
        else
            snprintf(buf, sizeof(buf), "%s", s);
        if (rp_sockaddr_parse(buf, a, &why) != 0)
            rp_cfg_diag_at(c->d, v->u.seq.items[i], "%s: bad address \"%s\": %s", k->key, s, why);
        else
            cfg->resolver.nservers++;
    }
}

#define RS(f) offsetof(struct rp_config, resolver.f)
static const struct rp_cfg_key resolver_keys[] = {
    {"servers", RP_CFG_T_CUSTOM, .handler = h_resolver_servers,
     .help = "DNS servers (default: the nameservers of /etc/resolv.conf)"},
    {"min_interval", RP_CFG_T_DURATION, RS(min_interval), 10, 24 * 3600 * 1000,
     .help = "re-resolve no more often than this, whatever the TTL (default 1s)"},
    {"max_interval", RP_CFG_T_DURATION, RS(max_interval), 10, 24 * 3600 * 1000,
     .help = "re-resolve at least this often (default 60s)"},
    {"timeout", RP_CFG_T_DURATION, RS(timeout), 10, 60 * 1000,
     .help = "time for one DNS query (default 2s)"},
};

void rp_cfg_resolver(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                     void *target)
{
    struct rp_config *cfg = target;
    if (!rp_cfg_want(c, k->key, v, RP_CFG_MAP, "a map {servers, min_interval, max_interval}"))
        return;
    rp_cfg_apply(c, resolver_keys, RP_CFG_COUNT(resolver_keys), "resolver", v, cfg);
    if (cfg->resolver.max_interval < cfg->resolver.min_interval)
        rp_cfg_diag_at(c->d, v, "resolver: max_interval is shorter than min_interval");
}
