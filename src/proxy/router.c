/* Route selection over a config snapshot: the first route, in file order, whose host, path,
 * method and header rules all hold. Regexes run with per-thread match data, created on first
 * use and grown to the largest capture count seen, so matching allocates nothing afterwards. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "proxy/router.h"

#include <pcre2.h>
#include <strings.h>

/* Bounds the backtracking a hostile path can cause in a badly written pattern. */
#define MATCH_LIMIT 100000

static _Thread_local pcre2_match_data *tl_md;
static _Thread_local uint32_t tl_md_pairs;
static _Thread_local pcre2_match_context *tl_mctx;

void rp_router_thread_exit(void)
{
    pcre2_match_data_free(tl_md);
    pcre2_match_context_free(tl_mctx);
    tl_md = NULL;
    tl_mctx = NULL;
    tl_md_pairs = 0;
}

struct rp_slice rp_router_host_only(struct rp_slice host)
{
    if (host.n == 0)
        return host;
    if (host.p[0] == '[') {
        const char *end = memchr(host.p, ']', host.n);
        if (end)
            host.n = (size_t)(end - host.p) + 1;
        return host;
    }
    const char *colon = memchr(host.p, ':', host.n);
    if (colon)
        host.n = (size_t)(colon - host.p);
    if (host.n && host.p[host.n - 1] == '.')
        host.n--;
    return host;
}

static bool host_matches(const struct rp_route_match *m, struct rp_slice host)
{
    if (!m->nhosts)
        return true;
    for (uint32_t i = 0; i < m->nhosts; i++) {
        const struct rp_host_match *h = &m->hosts[i];
        size_t n = strlen(h->name);
        if (h->kind == RP_HOST_EXACT) {
            if (host.n == n && strncasecmp(host.p, h->name, n) == 0)
                return true;
        } else if (n == 0) {
            return true; /* "*": any host, even none */
        } else if (host.n > n && strncasecmp(host.p + host.n - n, h->name, n) == 0) {
            return true; /* ".example.com" needs at least one label before it */
        }
    }
    return false;
}

static bool regex_matches(const struct rp_route_match *m, struct rp_slice path)
{
    const pcre2_code *re = m->regex;
    uint32_t captures = 0;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &captures);
    if (!tl_md || tl_md_pairs < captures + 1) {
        pcre2_match_data *md = pcre2_match_data_create(captures + 1, NULL);
        if (!md)
            return false;
        pcre2_match_data_free(tl_md);
        tl_md = md;
        tl_md_pairs = captures + 1;
    }
    if (!tl_mctx) {
        tl_mctx = pcre2_match_context_create(NULL);
        if (!tl_mctx)
            return false;
        pcre2_set_match_limit(tl_mctx, MATCH_LIMIT);
    }
    /* any error, the match limit included, counts as no match: the request falls through */
    return pcre2_match(re, (PCRE2_SPTR)(path.p ? path.p : ""), path.n, 0, 0, tl_md, tl_mctx) >= 0;
}

static bool path_matches(const struct rp_route_match *m, struct rp_slice path)
{
    switch (m->path_kind) {
    case RP_PATH_ANY:
        return true;
    case RP_PATH_EXACT:
        return rp_slice_eq(path, rp_slice_cstr(m->path));
    case RP_PATH_PREFIX:
        return rp_slice_starts_with(path, rp_slice_cstr(m->path));
    case RP_PATH_REGEX:
        return regex_matches(m, path);
    }
    return false;
}

static bool method_matches(const struct rp_route_match *m, struct rp_slice method)
{
    if (!m->nmethods)
        return true;
    for (uint32_t i = 0; i < m->nmethods; i++)
        if (rp_slice_eq(method, rp_slice_cstr(m->methods[i])))
            return true;
    return false;
}

/* Every configured header must be present ("*") or have an instance with exactly this value. */
static bool headers_match(const struct rp_route_match *m, const struct rp_msg *req)
{
    for (uint32_t i = 0; i < m->nheaders; i++) {
        struct rp_slice name = rp_slice_cstr(m->headers[i].name);
        struct rp_slice want = rp_slice_cstr(m->headers[i].value);
        bool any = want.n == 1 && want.p[0] == '*';
        bool found = false;
        for (uint32_t j = 0; j < req->nhdrs && !found; j++) {
            const struct rp_header *h = &req->hdrs[j];
            if (rp_slice_case_eq(h->name, name) && (any || rp_slice_eq(h->value, want)))
                found = true;
        }
        if (!found)
            return false;
    }
    return true;
}

const struct rp_route *rp_router_match(const struct rp_config *cfg, const struct rp_msg *req,
                                       struct rp_slice host, struct rp_slice norm_path)
{
    for (uint32_t i = 0; i < cfg->nroutes; i++) {
        const struct rp_route *r = &cfg->routes[i];
        const struct rp_route_match *m = &r->match;
        if (host_matches(m, host) && method_matches(m, req->method) && path_matches(m, norm_path) &&
            headers_match(m, req))
            return r;
    }
    return NULL;
}
