/* From the node tree to the snapshot: the top-level, listener, upstream and global-section key
 * tables, defaults, the load entry points, the command-line snapshot and freeing. Routes are in
 * build_route.c. All snapshot memory comes from one arena owned by the snapshot. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "config/keywords.h"
#include "core/log_level.h"
#include "lb/balancer.h"
#include "lb/server_state.h"
#include "tls/tls_server.h"

#define ARENA_BLOCK 16384
#define MAX_FILE_SIZE (16u * 1024 * 1024)

static void set_defaults(struct rp_config *cfg)
{
    cfg->workers = 0;
    cfg->timeouts.header = 10000;
    cfg->timeouts.body = 30000;
    cfg->timeouts.keepalive = 60000;
    cfg->timeouts.send = 30000;
    cfg->timeouts.connect = 5000;
    cfg->timeouts.backend_read = 60000;
    cfg->timeouts.upgrade_idle = 300000;
    cfg->timeouts.drain = 10000;
    cfg->limits.max_request_line = 8 * 1024;
    cfg->limits.max_header_size = 32 * 1024;
    cfg->limits.max_headers = 100;
    cfg->limits.max_body_size = 1024 * 1024 * 1024;
    cfg->http2.max_concurrent_streams = 100;
    cfg->http2.initial_window = 128 * 1024;
    cfg->http2.max_resets = 200;
    cfg->proxy.trust_forwarded = false;
    cfg->proxy.via = false;
    cfg->proxy.server_header = "rampart";
    cfg->log.access = "stdout";
    cfg->log.format = RP_LOG_COMBINED;
    cfg->log.error = "stderr";
    cfg->log.level = RP_LOG_INFO;
    cfg->resolver.min_interval = 1000;
    cfg->resolver.max_interval = 60000;
    cfg->resolver.timeout = 2000;
}

/* ---- listen ---- */

static bool parse_addr(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                       struct rp_sockaddr *out, const char **text)
{
    const char *s;
    if (!rp_cfg_get_str(c, key, v, RP_CFG_NONEMPTY, &s))
        return false;
    const char *why;
    if (rp_sockaddr_parse(s, out, &why) != 0) {
        rp_cfg_diag_at(c->d, v, "%s: bad address \"%s\": %s", key, s, why);
        return false;
    }
    if (text)
        *text = s;
    return true;
}

static void h_listen_address(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                             const struct rp_cfg_node *v, void *target)
{
    struct rp_listener_conf *l = target;
    parse_addr(c, k->key, v, &l->addr, &l->name);
}

static const struct rp_cfg_key listen_keys[] = {
    {"address", RP_CFG_T_CUSTOM, .handler = h_listen_address, .required = true,
     .help = "the address to listen on, like \"127.0.0.1:8080\" or \":8080\""},
    {"tls", RP_CFG_T_CUSTOM, .handler = rp_cfg_listener_tls,
     .help = "TLS termination: {certificates, min_version, ciphers, ...}"},
    {"http2", RP_CFG_T_BOOL, offsetof(struct rp_listener_conf, http2),
     .help = "offer HTTP/2 (ALPN h2 on TLS) (default true)"},
    {"redirect_https", RP_CFG_T_STRING, offsetof(struct rp_listener_conf, redirect_https),
     .flags = RP_CFG_HEADER,
     .help = "answer every request with 308 to https://this authority (\"\" = the request's host)"},
    {"hsts", RP_CFG_T_CUSTOM, .handler = rp_cfg_listener_hsts,
     .help = "Strict-Transport-Security: {max_age, include_subdomains, preload}"},
};

static void h_listen(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                     void *target)
{
    struct rp_config *cfg = target;
    const struct rp_cfg_node *const *items = (const struct rp_cfg_node *const *)&v;
    uint32_t n = 1;
    if (v->kind == RP_CFG_SEQ) {
        items = (const struct rp_cfg_node *const *)v->u.seq.items;
        n = v->u.seq.n;
    } else if (v->kind != RP_CFG_SCALAR) {
        rp_cfg_want(c, k->key, v, RP_CFG_SEQ, "a list of addresses");
        return;
    }
    if (n == 0) {
        rp_cfg_diag_at(c->d, v, "listen: at least one address is needed");
        return;
    }
    cfg->listeners = rp_arena_calloc(c->a, n, sizeof(*cfg->listeners));
    if (!cfg->listeners)
        return;
    cfg->nlisteners = n;
    for (uint32_t i = 0; i < n; i++) {
        struct rp_listener_conf *l = &cfg->listeners[i];
        l->http2 = true;
        uint32_t errors_before = rp_cfg_diag_count(c->d);
        if (items[i]->kind == RP_CFG_SCALAR || items[i]->kind == RP_CFG_NULL)
            parse_addr(c, "listen", items[i], &l->addr, &l->name);
        else if (rp_cfg_apply(c, listen_keys, RP_CFG_COUNT(listen_keys), "listen item", items[i],
                              l))
            rp_cfg_listener_finish(c, items[i], l, errors_before);
        for (uint32_t j = 0; j < i && l->name; j++) {
            if (cfg->listeners[j].name && !strcmp(l->addr.text, cfg->listeners[j].addr.text)) {
                rp_cfg_diag_at(c->d, items[i], "listen: %s is listed twice", l->addr.text);
                break;
            }
        }
    }
}

/* ---- upstreams ---- */

static void upstream_defaults(struct rp_upstream_conf *u)
{
    u->keepalive = 32;
    u->keepalive_timeout = 60000;
    u->h2_max_streams = 100;
    u->balancer = &rp_lb_round_robin;
    u->hash_balance = 125;
    u->outlier = (struct rp_outlier_conf){
        .failures = 5, .base_ejection = 10000, .max_ejection = 300000, .max_ejected = 50};
    u->retries = (struct rp_retry_conf){.tries = 3, .budget = 20, .budget_min = 3};
    u->queue.timeout = 10000;
    u->retry_after = 5000;
}

/* A server address. A host name that does not resolve now is not an error yet: with
 * `resolve:` its slots wait for DNS (rp_cfg_upstream_lb_finish reports it otherwise). */
static void server_addr(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                        struct rp_server_conf *s)
{
    const char *text, *why;
    if (!rp_cfg_get_str(c, key, v, RP_CFG_NONEMPTY, &text))
        return;
    if (rp_sockaddr_parse(text, &s->addr, &why) == 0) {
        s->host = rp_cfg_server_host(c, text);
        return;
    }
    const char *colon = strrchr(text, ':');
    char *end;
    unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (why == rp_sockaddr_unresolved && port && port < 65536 && !*end &&
        (s->host = rp_cfg_server_host(c, text))) {
        s->port = (uint16_t)port;
        memset(&s->addr, 0, sizeof(s->addr));
        return;
    }
    rp_cfg_diag_at(c->d, v, "%s: bad address \"%s\": %s", key, text, why);
}

static void h_server_address(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                             const struct rp_cfg_node *v, void *target)
{
    server_addr(c, k->key, v, target);
}

static const struct rp_cfg_key server_keys[] = {
    {"address", RP_CFG_T_CUSTOM, .handler = h_server_address, .required = true,
     .help = "the backend address, like \"127.0.0.1:9001\""},
    {"weight", RP_CFG_T_U32, offsetof(struct rp_server_conf, weight), 1, 1000,
     .help = "relative share of requests, 1..1000 (default 1)"},
    {"max_conns", RP_CFG_T_U32, offsetof(struct rp_server_conf, max_conns), 0, 1000000,
     .help = "requests in flight at most, over all workers; 0 = no limit (default 0)"},
    {"slow_start", RP_CFG_T_DURATION, offsetof(struct rp_server_conf, slow_start), 0, 3600 * 1000,
     .help = "ramp the weight up over this time after coming back (default off)"},
    {"backup", RP_CFG_T_BOOL, offsetof(struct rp_server_conf, backup),
     .help = "used only when no other server is usable (default false)"},
    {"drain", RP_CFG_T_BOOL, offsetof(struct rp_server_conf, drain),
     .help = "take no new requests; in-flight ones finish (default false)"},
};

static void h_servers(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                      void *target)
{
    struct rp_upstream_conf *u = target;
    if (!rp_cfg_want(c, k->key, v, RP_CFG_SEQ, "a list of servers"))
        return;
    if (v->u.seq.n == 0) {
        rp_cfg_diag_at(c->d, v, "servers: at least one server is needed");
        return;
    }
    u->servers = rp_arena_calloc(c->a, v->u.seq.n, sizeof(*u->servers));
    if (!u->servers)
        return;
    u->nservers = v->u.seq.n;
    for (uint32_t i = 0; i < v->u.seq.n; i++) {
        const struct rp_cfg_node *item = v->u.seq.items[i];
        struct rp_server_conf *s = &u->servers[i];
        s->weight = 1;
        if (item->kind == RP_CFG_SCALAR || item->kind == RP_CFG_NULL)
            server_addr(c, "server", item, s);
        else
            rp_cfg_apply(c, server_keys, RP_CFG_COUNT(server_keys), "server", item, s);
    }
}

static void h_protocol(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                       const struct rp_cfg_node *v, void *target)
{
    /* in enum rp_upstream_protocol order */
    static const char *const names[] = {"http1", "h2", "h2c"};
    int i;
    if (rp_cfg_get_enum(c, k->key, v, names, 3, &i))
        ((struct rp_upstream_conf *)target)->protocol = (enum rp_upstream_protocol)i;
}

static const struct rp_cfg_key upstream_keys[] = {
    {"servers", RP_CFG_T_CUSTOM, .handler = h_servers, .required = true,
     .help = "a list of backend addresses"},
    {"host_header", RP_CFG_T_STRING, offsetof(struct rp_upstream_conf, host_header),
     .flags = RP_CFG_NONEMPTY | RP_CFG_HEADER,
     .help = "Host sent to the backend (default: the client's Host)"},
    {"keepalive", RP_CFG_T_U32, offsetof(struct rp_upstream_conf, keepalive), 0, 10000,
     .help = "idle pooled connections per worker per server (default 32)"},
    {"keepalive_timeout", RP_CFG_T_DURATION, offsetof(struct rp_upstream_conf, keepalive_timeout),
     1, 24 * 3600 * 1000, .help = "how long a pooled connection may stay idle (default 60s)"},
    {"tls", RP_CFG_T_CUSTOM, .handler = rp_cfg_upstream_tls,
     .help = "TLS to the servers: true, or a map {sni, verify, ca, cert, key}"},
    {"protocol", RP_CFG_T_CUSTOM, .handler = h_protocol,
     .help = "http1, h2 (HTTP/2 over TLS) or h2c (HTTP/2 cleartext) (default http1)"},
    {"h2_max_streams", RP_CFG_T_U32, offsetof(struct rp_upstream_conf, h2_max_streams), 1, 10000,
     .help = "h2/h2c: concurrent streams per backend connection (default 100)"},
    {"balance", RP_CFG_T_CUSTOM, .handler = rp_cfg_balance,
     .help = "round_robin, random, least_conn, p2c, ip_hash or hash (default round_robin)"},
    {"hash_key", RP_CFG_T_CUSTOM, .handler = rp_cfg_hash_key,
     .help = "what balance: hash hashes: ip, path, \"header:N\", \"cookie:N\", \"query:N\""},
    {"hash_balance", RP_CFG_T_U32, offsetof(struct rp_upstream_conf, hash_balance), 0, 10000,
     .help = "hash: no server above this percent of the mean load; 0 = unbounded (125)"},
    {"sticky", RP_CFG_T_CUSTOM, .handler = rp_cfg_sticky,
     .help = "session affinity: a cookie name or {cookie, max_age, path, secure, httponly}"},
    {"health_check", RP_CFG_T_CUSTOM, .handler = rp_cfg_health_check,
     .help = "active checks: {type, method, path, host, status, body, interval, rise, fall}"},
    {"outlier", RP_CFG_T_CUSTOM, .handler = rp_cfg_outlier,
     .help = "passive ejection: {failures, base_ejection, max_ejection, max_ejected} or false"},
    {"retries", RP_CFG_T_CUSTOM, .handler = rp_cfg_retries,
     .help = "{tries, try_timeout, budget, budget_min} or a number of tries"},
    {"queue", RP_CFG_T_CUSTOM, .handler = rp_cfg_queue,
     .help = "wait for a free server at max_conns: {size, timeout}"},
    {"retry_after", RP_CFG_T_DURATION, offsetof(struct rp_upstream_conf, retry_after), 1000,
     24 * 3600 * 1000, .help = "Retry-After of the 503 when no server is usable (default 5s)"},
    {"resolve", RP_CFG_T_CUSTOM, .handler = rp_cfg_resolve,
     .help = "re-resolve host names in the background: true or address slots per name (8)"},
};

static void h_upstreams(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                        const struct rp_cfg_node *v, void *target)
{
    struct rp_config *cfg = target;
    if (v->kind == RP_CFG_NULL)
        return;
    if (!rp_cfg_want(c, k->key, v, RP_CFG_MAP, "a map of upstream names to upstreams"))
        return;
    uint32_t n = v->u.map.n;
    cfg->upstreams = rp_arena_calloc(c->a, n ? n : 1, sizeof(*cfg->upstreams));
    if (!cfg->upstreams)
        return;
    cfg->nupstreams = n;
    for (uint32_t i = 0; i < n; i++) {
        const struct rp_cfg_pair *p = &v->u.map.pairs[i];
        struct rp_upstream_conf *u = &cfg->upstreams[i];
        u->index = i;
        upstream_defaults(u);
        if (!rp_cfg_get_str(c, "upstream name", p->key, RP_CFG_NONEMPTY, &u->name))
            u->name = "";
        char what[96];
        snprintf(what, sizeof(what), "upstream \"%.64s\"", u->name);
        rp_cfg_apply(c, upstream_keys, RP_CFG_COUNT(upstream_keys), what, p->value, u);
        rp_cfg_upstream_lb_finish(c, p->value, u, what);
        /* ALPN "h2" is negotiated inside TLS: without it only prior knowledge (h2c) works */
        if (u->protocol == RP_UP_H2 && !u->tls)
            rp_cfg_diag_at(c->d, p->value, "%s: protocol h2 needs tls (or use h2c for cleartext)",
                           what);
    }
}

/* ---- global sections ---- */

/* clang-format off */
#define T(name, min, text)                                                                         \
    {#name, RP_CFG_T_DURATION, offsetof(struct rp_config, timeouts.name), min, 24 * 3600 * 1000,  \
     .help = text}
static const struct rp_cfg_key timeout_keys[] = {
    T(header, 1, "time for the client to send a whole request head (default 10s)"),
    T(body, 1, "longest gap between reads of a request body (default 30s)"),
    T(keepalive, 1, "idle client connection lifetime (default 60s)"),
    T(send, 1, "longest wait for a client to accept data (default 30s)"),
    T(connect, 1, "backend connect timeout (default 5s)"),
    T(backend_read, 1, "longest gap while waiting for backend response bytes (default 60s)"),
    T(upgrade_idle, 1, "idle WebSocket or other upgraded tunnel lifetime (default 300s)"),
    T(drain, 0, "graceful shutdown grace period (default 10s)"),
};
#undef T
/* clang-format on */

static const struct rp_cfg_key limit_keys[] = {
    {"max_request_line", RP_CFG_T_SIZE, offsetof(struct rp_config, limits.max_request_line), 64,
     1024 * 1024, .help = "longest request line, else 414 (default 8k)"},
    {"max_header_size", RP_CFG_T_SIZE, offsetof(struct rp_config, limits.max_header_size), 1024,
     16 * 1024 * 1024, .help = "largest request head, else 431 (default 32k)"},
    {"max_headers", RP_CFG_T_U32, offsetof(struct rp_config, limits.max_headers), 1, 10000,
     .help = "most header fields in a request, else 431 (default 100)"},
    {"max_body_size", RP_CFG_T_SIZE, offsetof(struct rp_config, limits.max_body_size), 0,
     UINT64_MAX, .help = "largest request body, else 413; 0 = unlimited (default 1g)"},
};

static const struct rp_cfg_key proxy_keys[] = {
    {"trust_forwarded", RP_CFG_T_BOOL, offsetof(struct rp_config, proxy.trust_forwarded),
     .help = "keep and extend incoming X-Forwarded-* / Forwarded (default false)"},
    {"via", RP_CFG_T_BOOL, offsetof(struct rp_config, proxy.via),
     .help = "add \"Via: 1.1 rampart\" (default false)"},
    {"server_header", RP_CFG_T_STRING, offsetof(struct rp_config, proxy.server_header),
     .flags = RP_CFG_HEADER, .help = "Server header on responses; \"\" to omit (default rampart)"},
};

static void h_log_format(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                         const struct rp_cfg_node *v, void *target)
{
    static const char *const names[] = {"combined", "json"};
    int i;
    if (rp_cfg_get_enum(c, k->key, v, names, 2, &i))
        ((struct rp_config *)target)->log.format = i ? RP_LOG_JSON : RP_LOG_COMBINED;
}

static void h_log_level(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                        const struct rp_cfg_node *v, void *target)
{
    /* in enum rp_log_level order */
    static const char *const names[] = {"error", "warn", "info", "debug"};
    int i;
    if (rp_cfg_get_enum(c, k->key, v, names, 4, &i))
        ((struct rp_config *)target)->log.level = i;
}

static const struct rp_cfg_key log_keys[] = {
    {"access", RP_CFG_T_STRING, offsetof(struct rp_config, log.access), .flags = RP_CFG_NONEMPTY,
     .help = "stdout, off, or a file path (default stdout)"},
    {"format", RP_CFG_T_CUSTOM, .handler = h_log_format,
     .help = "access log format: combined or json (default combined)"},
    {"error", RP_CFG_T_STRING, offsetof(struct rp_config, log.error), .flags = RP_CFG_NONEMPTY,
     .help = "stderr or a file path (default stderr)"},
    {"level", RP_CFG_T_CUSTOM, .handler = h_log_level,
     .help = "error, warn, info or debug (default info)"},
};

static void h_h2_window(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                        const struct rp_cfg_node *v, void *target)
{
    uint64_t n;
    /* 16 KiB .. 2^31-1 (RFC 9113 6.5.2); below a frame's size streams crawl */
    if (rp_cfg_get_size(c, k->key, v, 16384, 0x7fffffff, &n))
        ((struct rp_config *)target)->http2.initial_window = (uint32_t)n;
}

static const struct rp_cfg_key http2_keys[] = {
    {"max_concurrent_streams", RP_CFG_T_U32,
     offsetof(struct rp_config, http2.max_concurrent_streams), 1, 10000,
     .help = "streams one client connection may have open; more are refused (default 100)"},
    {"initial_window", RP_CFG_T_CUSTOM, .handler = h_h2_window,
     .help = "request body bytes a stream may send ahead of the proxy (default 128k)"},
    {"max_resets", RP_CFG_T_U32, offsetof(struct rp_config, http2.max_resets), 1, 1000000,
     .help = "client stream resets per 10 s before the connection is closed (default 200)"},
};

#define SECTION(fn, tab, name)                                                                     \
    static void fn(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,  \
                   void *target)                                                                   \
    {                                                                                              \
        rp_cfg_apply(c, tab, RP_CFG_COUNT(tab), name, v, target);                                  \
    }
SECTION(h_timeouts, timeout_keys, "timeouts")
SECTION(h_limits, limit_keys, "limits")
SECTION(h_proxy, proxy_keys, "proxy")
SECTION(h_log, log_keys, "log")
SECTION(h_http2, http2_keys, "http2")

static void h_routes(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                     void *target)
{
    c->routes_node = v; /* built once every upstream is known */
}

static const struct rp_cfg_key top_keys[] = {
    {"workers", RP_CFG_T_U32, offsetof(struct rp_config, workers), 0, 1024,
     .help = "worker threads; 0 = one per CPU (default 0)"},
    {"listen", RP_CFG_T_CUSTOM, .handler = h_listen, .required = true,
     .help = "a list of addresses to accept connections on"},
    {"upstreams", RP_CFG_T_CUSTOM, .handler = h_upstreams, .help = "named groups of backends"},
    {"routes", RP_CFG_T_CUSTOM, .handler = h_routes, .required = true,
     .help = "a list of routes, first match wins"},
    {"timeouts", RP_CFG_T_CUSTOM, .handler = h_timeouts, .help = "connection and request timeouts"},
    {"limits", RP_CFG_T_CUSTOM, .handler = h_limits, .help = "request size limits"},
    {"proxy", RP_CFG_T_CUSTOM, .handler = h_proxy, .help = "forwarding behaviour"},
    {"log", RP_CFG_T_CUSTOM, .handler = h_log, .help = "access and error logs"},
    {"http2", RP_CFG_T_CUSTOM, .handler = h_http2, .help = "HTTP/2 client connections"},
    {"resolver", RP_CFG_T_CUSTOM, .handler = rp_cfg_resolver,
     .help = "DNS for resolve: upstreams: {servers, min_interval, max_interval, timeout}"},
};

/* ---- snapshot life ---- */

static struct rp_config *config_new(void)
{
    struct rp_arena *a = malloc(sizeof(*a));
    if (!a)
        return NULL;
    rp_arena_init(a, ARENA_BLOCK);
    struct rp_config *cfg = rp_arena_calloc(a, 1, sizeof(*cfg));
    if (!cfg) {
        free(a);
        return NULL;
    }
    cfg->arena = a;
    atomic_init(&cfg->refs, 1);
    set_defaults(cfg);
    return cfg;
}

int rp_config_on_free(struct rp_config *c, void (*fn)(void *arg), void *arg)
{
    struct rp_cfg_cleanup *cl = rp_arena_calloc(c->arena, 1, sizeof(*cl));
    if (!cl)
        return -1;
    cl->fn = fn;
    cl->arg = arg;
    cl->next = c->cleanups;
    c->cleanups = cl;
    return 0;
}

static void config_free(struct rp_config *cfg)
{
    for (struct rp_cfg_cleanup *cl = cfg->cleanups; cl; cl = cl->next)
        cl->fn(cl->arg);
    for (uint32_t i = 0; cfg->routes && i < cfg->nroutes; i++)
        if (cfg->routes[i].match.regex)
            pcre2_code_free(cfg->routes[i].match.regex);
    for (uint32_t i = 0; cfg->listeners && i < cfg->nlisteners; i++)
        if (cfg->listeners[i].tls)
            rp_tls_server_unref(cfg->listeners[i].tls->server);
    struct rp_arena *a = cfg->arena; /* cfg itself lives in the arena */
    rp_arena_reset(a);
    free(a);
}

void rp_config_ref(struct rp_config *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void rp_config_unref(struct rp_config *c)
{
    if (!c)
        return;
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        config_free(c);
}

static const char *dir_of(struct rp_arena *a, const char *file)
{
    const char *slash = strrchr(file, '/');
    if (!slash)
        return ".";
    if (slash == file)
        return "/";
    return rp_arena_strndup(a, file, (size_t)(slash - file));
}

struct rp_config *rp_config_load_buffer(const char *name, const char *data, size_t len,
                                        struct rp_cfg_errors *errs)
{
    struct rp_cfg_diags d = {0};
    struct rp_config *cfg = config_new();
    if (!cfg) {
        rp_cfg_errors_add(errs, "%s: out of memory", name);
        return NULL;
    }
    struct rp_cfg_ctx c = {.a = cfg->arena, .d = &d, .cfg = cfg};
    cfg->file = c.file = rp_arena_strdup(c.a, name);
    c.dir = cfg->file ? dir_of(c.a, cfg->file) : NULL;
    if (!c.file || !c.dir) {
        config_free(cfg);
        rp_cfg_errors_add(errs, "%s: out of memory", name);
        return NULL;
    }

    struct rp_arena scratch; /* the node tree: dropped once the snapshot holds copies */
    rp_arena_init(&scratch, ARENA_BLOCK);
    const struct rp_cfg_node *root = rp_cfg_parse_yaml(c.file, data, len, &scratch, &d);
    if (root && root->kind == RP_CFG_NULL) {
        rp_cfg_diag_at(&d, root, "the file is empty; it needs at least \"listen\" and \"routes\"");
    } else if (root) {
        rp_cfg_apply(&c, top_keys, RP_CFG_COUNT(top_keys), "top level", root, cfg);
        if (c.routes_node)
            rp_cfg_build_routes(&c);
    }
    rp_arena_reset(&scratch);

    if (rp_cfg_diag_count(&d)) {
        rp_cfg_diags_flush(&d, errs);
        config_free(cfg);
        return NULL;
    }
    rp_cfg_diags_flush(&d, errs);
    if (!rp_lb_state_attach(cfg)) {
        rp_cfg_errors_add(errs, "%s: out of memory", name);
        rp_config_unref(cfg);
        return NULL;
    }
    return cfg;
}

struct rp_config *rp_config_load_file(const char *path, struct rp_cfg_errors *errs)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        rp_cfg_errors_add(errs, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rp_cfg_errors_add(errs, "%s: cannot open: not a regular file", path);
        fclose(f);
        return NULL;
    }
    if ((uint64_t)st.st_size > MAX_FILE_SIZE) {
        rp_cfg_errors_add(errs, "%s: the file is larger than 16 MiB", path);
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        rp_cfg_errors_add(errs, "%s: cannot read: %s", path, buf ? strerror(errno) : "no memory");
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    struct rp_config *cfg = rp_config_load_buffer(path, buf, n, errs);
    free(buf);
    return cfg;
}

struct rp_config *rp_config_from_cli(const char *listen, const char *const *to, uint32_t nto,
                                     struct rp_cfg_errors *errs)
{
    struct rp_config *cfg = config_new();
    if (!cfg) {
        rp_cfg_errors_add(errs, "out of memory");
        return NULL;
    }
    struct rp_arena *a = cfg->arena;
    bool ok = true;
    if (!listen)
        listen = ":8080";
    cfg->listeners = rp_arena_calloc(a, 1, sizeof(*cfg->listeners));
    cfg->upstreams = rp_arena_calloc(a, 1, sizeof(*cfg->upstreams));
    cfg->routes = rp_arena_calloc(a, 1, sizeof(*cfg->routes));
    struct rp_server_conf *servers = rp_arena_calloc(a, nto ? nto : 1, sizeof(*servers));
    if (!cfg->listeners || !cfg->upstreams || !cfg->routes || !servers) {
        rp_cfg_errors_add(errs, "out of memory");
        config_free(cfg);
        return NULL;
    }
    const char *why;
    cfg->nlisteners = 1;
    cfg->listeners[0].name = rp_arena_strdup(a, listen);
    cfg->listeners[0].http2 = true;
    if (rp_sockaddr_parse(listen, &cfg->listeners[0].addr, &why) != 0) {
        rp_cfg_errors_add(errs, "--listen %s: %s", listen, why);
        ok = false;
    }
    if (nto == 0) {
        rp_cfg_errors_add(errs, "--to: at least one backend address is needed");
        ok = false;
    }
    for (uint32_t i = 0; i < nto; i++) {
        servers[i].weight = 1;
        if (rp_sockaddr_parse(to[i], &servers[i].addr, &why) != 0) {
            rp_cfg_errors_add(errs, "--to %s: %s", to[i], why);
            ok = false;
        }
    }
    struct rp_upstream_conf *u = &cfg->upstreams[0];
    cfg->nupstreams = 1;
    u->name = "default";
    u->servers = servers;
    u->nservers = nto;
    upstream_defaults(u);
    cfg->nroutes = 1;
    cfg->routes[0].action = RP_ACT_PROXY;
    cfg->routes[0].upstream = u;
    if (!ok || !cfg->listeners[0].name) {
        config_free(cfg);
        return NULL;
    }
    if (!rp_lb_state_attach(cfg)) {
        rp_cfg_errors_add(errs, "out of memory");
        rp_config_unref(cfg);
        return NULL;
    }
    return cfg;
}
