/* Routes: match rules (host, path, regex, methods, headers), exactly one action, rewrites and
 * header edits, each through its own key table. Runs after the upstreams are built so that
 * "proxy: name" can be resolved (and misspellings suggested). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/keywords.h"

struct route_build {
    struct rp_route r; /* first, so rp_route offsets in the tables apply to this struct */
    struct rp_cfg_ctx *c;
    const char *what;       /* "route #3" */
    const char *action_key; /* the action seen first, NULL while none */
    const struct rp_cfg_node *action_node;
};

/* ---- match ---- */

static void add_host(struct rp_cfg_ctx *c, const struct rp_cfg_node *v, struct rp_host_match *h)
{
    const char *s;
    if (!rp_cfg_get_str(c, "host", v, RP_CFG_NONEMPTY, &s))
        return;
    char *low = (char *)s; /* our own arena copy */
    size_t n = strlen(low);
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)low[i]);
    if (n > 1 && low[n - 1] == '.')
        low[--n] = '\0';
    if (!strcmp(low, "*")) {
        h->kind = RP_HOST_WILDCARD; /* any host, even none */
        h->name = "";
        return;
    }
    const char *name = low;
    h->kind = RP_HOST_EXACT;
    if (!strncmp(low, "*.", 2)) {
        h->kind = RP_HOST_WILDCARD;
        name = low + 1; /* keep the dot: ".example.com" */
    }
    if (strchr(name, '*')) {
        rp_cfg_diag_at(c->d, v, "host: \"%s\": a wildcard is only allowed as a leading \"*.\"", s);
        return;
    }
    bool bracketed = name[0] == '[';
    for (const char *p = name; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == ':' && !bracketed) {
            rp_cfg_diag_at(c->d, v, "host: \"%s\": leave the port out (hosts match any port)", s);
            return;
        }
        if (ch <= ' ' || ch == '/' || ch == 0x7f) {
            rp_cfg_diag_at(c->d, v, "host: \"%s\" is not a valid host name", s);
            return;
        }
    }
    h->name = name;
}

static void h_host(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                   void *target)
{
    struct rp_route_match *m = target;
    const struct rp_cfg_node *const *items = (const struct rp_cfg_node *const *)&v;
    uint32_t n = 1;
    if (v->kind == RP_CFG_SEQ) {
        items = (const struct rp_cfg_node *const *)v->u.seq.items;
        n = v->u.seq.n;
        if (n == 0) {
            rp_cfg_diag_at(c->d, v, "host: the list is empty");
            return;
        }
    }
    m->hosts = rp_arena_calloc(c->a, n, sizeof(*m->hosts));
    if (!m->hosts)
        return;
    m->nhosts = n;
    for (uint32_t i = 0; i < n; i++) {
        m->hosts[i].name = "";
        add_host(c, items[i], &m->hosts[i]);
    }
}

/* path, path_prefix and path_regex exclude each other: the second one seen is the error. */
static bool claim_path(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                       const struct rp_cfg_node *v, struct rp_route_match *m)
{
    if (m->path_kind == RP_PATH_ANY)
        return true;
    rp_cfg_diag_at(c->d, v, "%s: use only one of path, path_prefix and path_regex", k->key);
    return false;
}

static void h_path(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                   void *target)
{
    struct rp_route_match *m = target;
    const char *s;
    if (!claim_path(c, k, v, m) || !rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY, &s))
        return;
    if (s[0] != '/') {
        rp_cfg_diag_at(c->d, v, "%s: must start with \"/\"", k->key);
        return;
    }
    m->path = s;
    m->path_kind = !strcmp(k->key, "path") ? RP_PATH_EXACT : RP_PATH_PREFIX;
}

static void h_path_regex(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                         const struct rp_cfg_node *v, void *target)
{
    struct rp_route_match *m = target;
    const char *s;
    if (!claim_path(c, k, v, m) || !rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY, &s))
        return;
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, strlen(s), 0, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", code);
        rp_cfg_diag_at(c->d, v, "path_regex: invalid regular expression at offset %zu: %s",
                       (size_t)off, (const char *)msg);
        return;
    }
    /* JIT is an optimisation only: without it (no support, no executable memory) the
     * interpreter gives the same answers */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    m->regex = re;
    m->regex_src = s;
    m->path_kind = RP_PATH_REGEX;
}

static bool add_methods(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                        struct rp_route_match *m)
{
    if (m->nmethods) {
        rp_cfg_diag_at(c->d, v, "%s: use only one of method and methods", key);
        return false;
    }
    const struct rp_cfg_node *const *items = (const struct rp_cfg_node *const *)&v;
    uint32_t n = 1;
    if (v->kind == RP_CFG_SEQ) {
        items = (const struct rp_cfg_node *const *)v->u.seq.items;
        n = v->u.seq.n;
        if (n == 0) {
            rp_cfg_diag_at(c->d, v, "%s: the list is empty", key);
            return false;
        }
    }
    const char **out = rp_arena_calloc(c->a, n, sizeof(*out));
    if (!out)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        if (!rp_cfg_get_str(c, key, items[i], RP_CFG_NONEMPTY, &out[i]))
            continue;
        if (!rp_cfg_is_token(out[i]))
            rp_cfg_diag_at(c->d, items[i], "%s: \"%s\" is not a valid method name", key, out[i]);
    }
    m->methods = out;
    m->nmethods = n;
    return true;
}

static void h_methods(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                      void *target)
{
    add_methods(c, k->key, v, target);
}

/* A map of header name to value, into an array of name/value pairs. */
static bool header_map(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                       struct rp_header_kv **out, uint32_t *nout)
{
    if (!rp_cfg_want(c, key, v, RP_CFG_MAP, "a map of header names to values"))
        return false;
    uint32_t n = v->u.map.n;
    struct rp_header_kv *kv = rp_arena_calloc(c->a, n ? n : 1, sizeof(*kv));
    if (!kv)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        const struct rp_cfg_pair *p = &v->u.map.pairs[i];
        kv[i].name = kv[i].value = "";
        if (rp_cfg_get_str(c, key, p->key, RP_CFG_NONEMPTY, &kv[i].name) &&
            !rp_cfg_is_token(kv[i].name))
            rp_cfg_diag_at(c->d, p->key, "%s: \"%s\" is not a valid header name", key, kv[i].name);
        rp_cfg_get_str(c, key, p->value, RP_CFG_HEADER, &kv[i].value);
    }
    *out = kv;
    *nout = n;
    return true;
}

static void h_match_headers(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                            const struct rp_cfg_node *v, void *target)
{
    struct rp_route_match *m = target;
    header_map(c, k->key, v, &m->headers, &m->nheaders);
}

static const struct rp_cfg_key match_keys[] = {
    {"host", RP_CFG_T_CUSTOM, .handler = h_host,
     .help = "a host or a list; \"*.example.com\" matches subdomains, \"*\" anything"},
    {"path", RP_CFG_T_CUSTOM, .handler = h_path, .help = "the exact normalised path"},
    {"path_prefix", RP_CFG_T_CUSTOM, .handler = h_path, .help = "a path prefix"},
    {"path_regex", RP_CFG_T_CUSTOM, .handler = h_path_regex,
     .help = "a PCRE2 regular expression searched in the path"},
    {"methods", RP_CFG_T_CUSTOM, .handler = h_methods, .help = "a list of methods"},
    {"method", RP_CFG_T_CUSTOM, .handler = h_methods, .help = "one method"},
    {"headers", RP_CFG_T_CUSTOM, .handler = h_match_headers,
     .help = "a map of header names to exact values; \"*\" means present"},
};

/* ---- actions ---- */

static bool claim_action(struct route_build *rb, const struct rp_cfg_key *k,
                         const struct rp_cfg_node *v, enum rp_action_kind kind)
{
    if (rb->action_key) {
        rp_cfg_diag_at(rb->c->d, v,
                       "%s has more than one action (\"%s\" at line %d and \"%s\"); keep "
                       "exactly one",
                       rb->what, rb->action_key, rb->action_node->line, k->key);
        return false;
    }
    rb->action_key = k->key;
    rb->action_node = v;
    rb->r.action = kind;
    return true;
}

static void h_proxy(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                    void *target)
{
    struct route_build *rb = target;
    const char *name;
    if (!claim_action(rb, k, v, RP_ACT_PROXY) ||
        !rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY, &name))
        return;
    const struct rp_config *cfg = c->cfg;
    for (uint32_t i = 0; i < cfg->nupstreams; i++) {
        if (!strcmp(cfg->upstreams[i].name, name)) {
            rb->r.upstream = &cfg->upstreams[i];
            return;
        }
    }
    const char *names[64] = {0};
    uint32_t n = cfg->nupstreams < 64 ? cfg->nupstreams : 64;
    for (uint32_t i = 0; i < n; i++)
        names[i] = cfg->upstreams[i].name;
    const char *s = rp_cfg_suggest(name, names, n);
    if (s)
        rp_cfg_diag_at(c->d, v, "proxy: unknown upstream \"%s\"; did you mean \"%s\"?", name, s);
    else if (n == 0)
        rp_cfg_diag_at(c->d, v, "proxy: unknown upstream \"%s\"; no upstreams are defined", name);
    else
        rp_cfg_diag_at(c->d, v, "proxy: unknown upstream \"%s\"", name);
}

static void h_redirect_status(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                              const struct rp_cfg_node *v, void *target)
{
    uint64_t x;
    if (!rp_cfg_get_uint(c, k->key, v, 301, 308, &x))
        return;
    if (x != 301 && x != 302 && x != 303 && x != 307 && x != 308) {
        rp_cfg_diag_at(c->d, v, "status: a redirect status is 301, 302, 303, 307 or 308");
        return;
    }
    ((struct rp_route *)target)->redirect.status = (int)x;
}

static const struct rp_cfg_key redirect_keys[] = {
    {"status", RP_CFG_T_CUSTOM, .handler = h_redirect_status,
     .help = "301, 302, 303, 307 or 308 (default 302)"},
    {"location", RP_CFG_T_STRING, offsetof(struct rp_route, redirect.location),
     .flags = RP_CFG_NONEMPTY | RP_CFG_HEADER, .required = true,
     .help = "the Location; $request_uri is replaced with the original target"},
};

static void h_redirect(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                       const struct rp_cfg_node *v, void *target)
{
    struct route_build *rb = target;
    if (!claim_action(rb, k, v, RP_ACT_REDIRECT))
        return;
    rb->r.redirect.status = 302;
    if (v->kind == RP_CFG_SCALAR) /* shorthand: the location alone */
        rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY | RP_CFG_HEADER, &rb->r.redirect.location);
    else
        rp_cfg_apply(c, redirect_keys, RP_CFG_COUNT(redirect_keys), "redirect", v, &rb->r);
}

static void h_respond_status(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                             const struct rp_cfg_node *v, void *target)
{
    uint64_t x;
    if (rp_cfg_get_uint(c, k->key, v, 100, 599, &x))
        ((struct rp_route *)target)->respond.status = (int)x;
}

static void h_respond_body(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                           const struct rp_cfg_node *v, void *target)
{
    struct rp_route *r = target;
    if (!rp_cfg_want(c, k->key, v, RP_CFG_SCALAR, "a string"))
        return;
    /* a body may hold any bytes, NULs included, so it is copied by length */
    char *b = rp_arena_alloc(c->a, v->u.scalar.n + 1);
    if (!b)
        return;
    memcpy(b, v->u.scalar.s, v->u.scalar.n + 1);
    r->respond.body = b;
    r->respond.body_len = v->u.scalar.n;
}

static const struct rp_cfg_key respond_keys[] = {
    {"status", RP_CFG_T_CUSTOM, .handler = h_respond_status, .help = "100..599 (default 200)"},
    {"body", RP_CFG_T_CUSTOM, .handler = h_respond_body, .help = "the body (default empty)"},
    {"content_type", RP_CFG_T_STRING, offsetof(struct rp_route, respond.content_type),
     .flags = RP_CFG_NONEMPTY | RP_CFG_HEADER,
     .help = "the Content-Type (default \"text/plain; charset=utf-8\")"},
};

static void h_respond(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                      void *target)
{
    struct route_build *rb = target;
    if (!claim_action(rb, k, v, RP_ACT_RESPOND))
        return;
    rp_cfg_apply(c, respond_keys, RP_CFG_COUNT(respond_keys), "respond", v, &rb->r);
}

/* The root is resolved against the config file's directory and must be a directory now, so a
 * typo is caught by `rampart check` rather than by 404s. */
static void h_static_root(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                          const struct rp_cfg_node *v, void *target)
{
    struct rp_route *r = target;
    const char *s;
    if (!rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY, &s))
        return;
    const char *joined = s[0] == '/' ? s : rp_arena_printf(c->a, "%s/%s", c->dir, s);
    if (!joined)
        return;
    char *abs = realpath(joined, NULL);
    if (!abs) {
        rp_cfg_diag_at(c->d, v, "root: cannot use \"%s\": %s", joined, strerror(errno));
        return;
    }
    struct stat st;
    if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode))
        rp_cfg_diag_at(c->d, v, "root: \"%s\" is not a directory", joined);
    else
        r->static_files.root = rp_arena_strdup(c->a, abs);
    free(abs);
}

static void h_static_index(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                           const struct rp_cfg_node *v, void *target)
{
    struct rp_route *r = target;
    const char *s;
    if (!rp_cfg_get_str(c, k->key, v, 0, &s))
        return;
    if (strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, "..")) {
        rp_cfg_diag_at(c->d, v, "index: must be a file name, without \"/\"");
        return;
    }
    r->static_files.index = s;
}

static const struct rp_cfg_key static_keys[] = {
    {"root", RP_CFG_T_CUSTOM, .handler = h_static_root, .required = true,
     .help = "the directory to serve, relative to the config file"},
    {"index", RP_CFG_T_CUSTOM, .handler = h_static_index,
     .help = "file served for a directory; \"\" = none (default index.html)"},
};

static void h_static(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                     void *target)
{
    struct route_build *rb = target;
    if (!claim_action(rb, k, v, RP_ACT_STATIC))
        return;
    rb->r.static_files.index = "index.html";
    if (v->kind == RP_CFG_SCALAR) /* shorthand: the root alone */
        h_static_root(c, k, v, &rb->r);
    else
        rp_cfg_apply(c, static_keys, RP_CFG_COUNT(static_keys), "static", v, &rb->r);
}

/* ---- rewrites and header edits ---- */

static void h_prefix_check(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                           const struct rp_cfg_node *v, void *target)
{
    const char **field = (const char **)((char *)target + k->offset);
    if (*field && (*field)[0] != '/') {
        rp_cfg_diag_at(c->d, v, "%s: must start with \"/\"", k->key);
        *field = NULL;
    }
}

static void h_hdr_set(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                      void *target)
{
    struct rp_header_ops *o = target;
    header_map(c, k->key, v, &o->set, &o->nset);
}

static void h_hdr_add(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                      void *target)
{
    struct rp_header_ops *o = target;
    header_map(c, k->key, v, &o->add, &o->nadd);
}

static void h_hdr_remove(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                         const struct rp_cfg_node *v, void *target)
{
    struct rp_header_ops *o = target;
    const struct rp_cfg_node *const *items = (const struct rp_cfg_node *const *)&v;
    uint32_t n = 1;
    if (v->kind == RP_CFG_SEQ) {
        items = (const struct rp_cfg_node *const *)v->u.seq.items;
        n = v->u.seq.n;
    }
    o->remove = rp_arena_calloc(c->a, n ? n : 1, sizeof(*o->remove));
    if (!o->remove)
        return;
    for (uint32_t i = 0; i < n; i++) {
        o->remove[i] = "";
        if (rp_cfg_get_str(c, k->key, items[i], RP_CFG_NONEMPTY, &o->remove[i]) &&
            !rp_cfg_is_token(o->remove[i]))
            rp_cfg_diag_at(c->d, items[i], "%s: \"%s\" is not a valid header name", k->key,
                           o->remove[i]);
    }
    o->nremove = n;
}

static const struct rp_cfg_key header_ops_keys[] = {
    {"set", RP_CFG_T_CUSTOM, .handler = h_hdr_set, .help = "headers to replace (or add)"},
    {"add", RP_CFG_T_CUSTOM, .handler = h_hdr_add, .help = "headers to append"},
    {"remove", RP_CFG_T_CUSTOM, .handler = h_hdr_remove, .help = "header names to remove"},
};

static void h_header_ops(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                         const struct rp_cfg_node *v, void *target)
{
    struct route_build *rb = target;
    struct rp_header_ops *o =
        !strcmp(k->key, "request_headers") ? &rb->r.request_headers : &rb->r.response_headers;
    rp_cfg_apply(c, header_ops_keys, RP_CFG_COUNT(header_ops_keys), k->key, v, o);
}

static void h_match(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                    void *target)
{
    struct route_build *rb = target;
    char what[64];
    snprintf(what, sizeof(what), "match of %s", rb->what);
    rp_cfg_apply(c, match_keys, RP_CFG_COUNT(match_keys), what, v, &rb->r.match);
}

static void h_compress(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                       const struct rp_cfg_node *v, void *target)
{
    rp_cfg_route_compress(c, k, v, &((struct route_build *)target)->r.compress);
}

static const struct rp_cfg_key route_keys[] = {
    {"match", RP_CFG_T_CUSTOM, .handler = h_match,
     .help = "conditions that must all hold (default: everything)"},
    {"proxy", RP_CFG_T_CUSTOM, .handler = h_proxy, .help = "action: the upstream to forward to"},
    {"redirect", RP_CFG_T_CUSTOM, .handler = h_redirect, .help = "action: answer a redirect"},
    {"respond", RP_CFG_T_CUSTOM, .handler = h_respond, .help = "action: answer a fixed response"},
    {"static", RP_CFG_T_CUSTOM, .handler = h_static, .help = "action: serve files"},
    {"strip_prefix", RP_CFG_T_STRING, offsetof(struct rp_route, strip_prefix),
     .flags = RP_CFG_NONEMPTY, .handler = h_prefix_check,
     .help = "removed from the start of the path"},
    {"add_prefix", RP_CFG_T_STRING, offsetof(struct rp_route, add_prefix), .flags = RP_CFG_NONEMPTY,
     .handler = h_prefix_check, .help = "added to the start of the path"},
    {"request_headers", RP_CFG_T_CUSTOM, .handler = h_header_ops,
     .help = "edits of the request headers: set, add, remove"},
    {"response_headers", RP_CFG_T_CUSTOM, .handler = h_header_ops,
     .help = "edits of the response headers: set, add, remove"},
    {"compress", RP_CFG_T_CUSTOM, .handler = h_compress,
     .help = "compress proxied responses: true or {encodings, types, min_length, *_level}"},
};

void rp_cfg_build_routes(struct rp_cfg_ctx *c)
{
    const struct rp_cfg_node *v = c->routes_node;
    if (!rp_cfg_want(c, "routes", v, RP_CFG_SEQ, "a list of routes"))
        return;
    if (v->u.seq.n == 0) {
        rp_cfg_diag_at(c->d, v, "routes: at least one route is needed");
        return;
    }
    struct rp_config *cfg = c->cfg;
    cfg->routes = rp_arena_calloc(c->a, v->u.seq.n, sizeof(*cfg->routes));
    if (!cfg->routes)
        return;
    cfg->nroutes = v->u.seq.n;
    for (uint32_t i = 0; i < v->u.seq.n; i++) {
        const struct rp_cfg_node *item = v->u.seq.items[i];
        char what[32];
        snprintf(what, sizeof(what), "route #%u", i + 1);
        struct route_build rb = {.c = c, .what = what};
        rb.r.index = i;
        rb.r.file = c->file;
        rb.r.line = item->line;
        rb.r.respond.status = 200;
        rb.r.respond.body = "";
        rb.r.respond.content_type = "text/plain; charset=utf-8";
        if (rp_cfg_apply(c, route_keys, RP_CFG_COUNT(route_keys), what, item, &rb) &&
            !rb.action_key)
            rp_cfg_diag_at(c->d, item,
                           "%s has no action; add one of proxy, redirect, respond, static", what);
        cfg->routes[i] = rb.r; /* even when broken, so its regex is freed with the snapshot */
    }
}
