/* An exchange from its parsed head to its last response byte: path normalisation, routing,
 * request-body setup, dispatch to a handler (local response, static, proxy), completion with
 * keep-alive or close, and the access log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "handler/static_file.h"
#include "http/uri.h"
#include "proxy/exchange_run.h"
#include "proxy/router.h"
#include "proxy/session.h"

/* Finished exchanges are kept per thread for the next request (no malloc in steady state). */
static _Thread_local struct rp_exchange *spare;
static _Thread_local unsigned nspare;

static struct rp_exchange *exchange_new(struct rp_session *s)
{
    struct rp_exchange *x = spare;
    if (x) {
        spare = *(struct rp_exchange **)x;
        nspare--;
        memset(x, 0, sizeof(*x));
    } else if (!(x = calloc(1, sizeof(*x)))) {
        return NULL;
    }
    x->s = s;
    x->w = s->w;
    s->w->nexchanges++;
    x->slot = rp_cfg_slot_get(s->w);
    x->cfg = x->slot->cfg;
    x->file_fd = -1;
    x->start_us = rp_clock_mono_us();
    /* what is buffered now belongs to this exchange (the head) or was sent before it */
    x->in_mark = s->bytes_read - rp_buf_len(&s->in);
    x->out_mark = s->bytes_written + rp_buf_len(&s->out);
    rp_arena_init(&x->arena, 4096);
    s->x = x;
    s->state = RP_SS_EXCHANGE;
    s->nrequests++;
    return x;
}

static void exchange_free(struct rp_exchange *x)
{
    rp_cfg_slot_put(x->w, x->slot);
    rp_arena_reset(&x->arena);
#ifndef RP_PLAIN_ALLOC
    if (nspare < 256) {
        *(struct rp_exchange **)x = spare;
        spare = x;
        nspare++;
        return;
    }
#endif
    free(x);
}

void rp_exchange_cache_drain(unsigned keep)
{
    while (spare && nspare > keep) {
        struct rp_exchange *x = spare;
        spare = *(struct rp_exchange **)x;
        free(x);
        nspare--;
    }
}

static bool valid_request_id(struct rp_slice v)
{
    if (v.n == 0 || v.n > 128)
        return false;
    for (size_t i = 0; i < v.n; i++)
        if (v.p[i] <= ' ' || v.p[i] >= 0x7f || v.p[i] == '"' || v.p[i] == '\\')
            return false;
    return true;
}

static void set_request_id(struct rp_exchange *x)
{
    const struct rp_header *h = rp_msg_find(&x->req, RP_SLICE_LIT("x-request-id"));
    if (h && valid_request_id(h->value)) {
        size_t n = h->value.n < sizeof(x->request_id) - 1 ? h->value.n : sizeof(x->request_id) - 1;
        memcpy(x->request_id, h->value.p, n);
        x->request_id[n] = '\0';
        return;
    }
    snprintf(x->request_id, sizeof(x->request_id), "%016llx%016llx",
             (unsigned long long)rp_worker_rand(x->w), (unsigned long long)rp_worker_rand(x->w));
}

/* strip_prefix then add_prefix, on the normalised path. */
static struct rp_slice rewrite_path(struct rp_exchange *x, struct rp_slice path)
{
    const struct rp_route *rt = x->route;
    if (rt->strip_prefix) {
        struct rp_slice pre = rp_slice_cstr(rt->strip_prefix);
        if (rp_slice_starts_with(path, pre)) {
            path.p += pre.n;
            path.n -= pre.n;
            if (path.n == 0 || path.p[0] != '/') {
                char *p = rp_arena_alloc(&x->arena, path.n + 2);
                if (p) {
                    p[0] = '/';
                    memcpy(p + 1, path.p, path.n);
                    path = (struct rp_slice){p, path.n + 1};
                }
            }
        }
    }
    if (rt->add_prefix && rt->add_prefix[0]) {
        struct rp_slice pre = rp_slice_cstr(rt->add_prefix);
        if (pre.p[pre.n - 1] == '/' && path.n && path.p[0] == '/')
            pre.n--;
        char *p = rp_arena_alloc(&x->arena, pre.n + path.n + 1);
        if (p) {
            memcpy(p, pre.p, pre.n);
            memcpy(p + pre.n, path.p, path.n);
            path = (struct rp_slice){p, pre.n + path.n};
        }
    }
    return path;
}

/* The route's Location with its variables expanded: $request_uri (the original target) and
 * $host (the request's host without port, as nginx's $host), e.g. "https://$host$request_uri".
 * Both come from a head the parser accepted, so they hold no CR or LF. */
static char *redirect_location(struct rp_exchange *x, const char *loc)
{
    static const struct {
        const char *name;
        size_t len;
    } vars[] = {{"$request_uri", 12}, {"$host", 5}};
    struct rp_slice vals[] = {x->req.target, x->host};
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) { /* size, then copy */
        char *out = pass ? rp_arena_alloc(&x->arena, n + 1) : NULL;
        if (pass && !out)
            return NULL;
        size_t o = 0;
        for (const char *p = loc; *p;) {
            size_t v = 0;
            while (v < 2 && strncmp(p, vars[v].name, vars[v].len) != 0)
                v++;
            struct rp_slice piece = v < 2 ? vals[v] : (struct rp_slice){p, 1};
            if (out)
                memcpy(out + o, piece.p, piece.n);
            o += piece.n;
            p += v < 2 ? vars[v].len : 1;
        }
        if (out) {
            out[o] = '\0';
            return out;
        }
        n = o;
    }
    return NULL;
}

static void respond_redirect(struct rp_exchange *x)
{
    char *value = redirect_location(x, x->route->redirect.location);
    char *extra = value ? rp_arena_printf(&x->arena, "Location: %s\r\n", value) : NULL;
    if (!extra) {
        rp_exchange_error(x, 500);
        return;
    }
    rp_exchange_local_response(x, x->route->redirect.status, NULL, NULL, 0, extra);
}

const struct rp_listener_conf *rp_listener_in(const struct rp_config *cfg,
                                              const struct rp_listener_conf *l)
{
    for (uint32_t i = 0; l && i < cfg->nlisteners; i++)
        if (!strcmp(cfg->listeners[i].addr.text, l->addr.text))
            return &cfg->listeners[i];
    return l;
}

const struct rp_listener_conf *rp_exchange_listener(const struct rp_exchange *x)
{
    return rp_listener_in(x->cfg, x->s->listener);
}

size_t rp_hsts_field(const struct rp_exchange *x, char *p, size_t cap)
{
    const struct rp_listener_conf *l = rp_exchange_listener(x);
    if (!l || !l->tls || !l->hsts_max_age ||
        rp_header_ops_hides(x->route ? &x->route->response_headers : NULL,
                            "strict-transport-security"))
        return 0;
    return rp_fitted(snprintf(p, cap, "Strict-Transport-Security: max-age=%llu%s%s\r\n",
                              (unsigned long long)l->hsts_max_age,
                              l->hsts_subdomains ? "; includeSubDomains" : "",
                              l->hsts_preload ? "; preload" : ""),
                     cap);
}

/* A plain listener with redirect_https: every request goes to the same target over https. */
static void redirect_to_https(struct rp_exchange *x, const char *authority)
{
    const struct rp_msg *req = &x->req;
    struct rp_slice host = authority[0] ? rp_slice_cstr(authority) : x->host;
    if (!host.n) {
        rp_exchange_error(x, 400); /* no Host: nowhere to send the client */
        return;
    }
    char *extra;
    if (req->target.n && req->target.p[0] == '/')
        extra = rp_arena_printf(&x->arena, "Location: https://%.*s%.*s\r\n", RP_SLICE_FMT(host),
                                RP_SLICE_FMT(req->target));
    else /* absolute-form: its path and query */
        extra = rp_arena_printf(&x->arena, "Location: https://%.*s%.*s%s%.*s\r\n",
                                RP_SLICE_FMT(host), RP_SLICE_FMT(req->path),
                                req->query.p ? "?" : "", RP_SLICE_FMT(req->query));
    if (!extra) {
        rp_exchange_error(x, 500);
        return;
    }
    rp_exchange_local_response(x, 308, NULL, NULL, 0, extra);
}

static void exchange_start(struct rp_exchange *x)
{
    struct rp_msg *req = &x->req;
    const struct rp_config *cfg = x->cfg;
    x->head_request = req->meth == RP_METH_HEAD;
    set_request_id(x);
    x->host = rp_router_host_only(req->authority.n ? req->authority : req->host);
    /* first, so that any early answer knows whether the connection can be kept */
    struct rp_chunked *ch = NULL;
    if (req->body == RP_BODY_CHUNKED && !(ch = rp_arena_alloc(&x->arena, sizeof(*ch)))) {
        rp_exchange_error(x, 500);
        return;
    }
    rp_body_reader_init(&x->req_body, req->body, req->content_length, ch);
    x->req_done = x->req_body.done;

    /* CONNECT would make rampart a tunnel to anywhere; TRACE reflects request headers
     * (cross-site tracing): both are refused, as nginx does */
    if (req->meth == RP_METH_CONNECT || req->meth == RP_METH_TRACE) {
        rp_exchange_error(x, 405);
        return;
    }
    const struct rp_listener_conf *l = rp_exchange_listener(x);
    if (l && l->redirect_https) {
        redirect_to_https(x, l->redirect_https);
        return;
    }
    if (req->meth == RP_METH_OPTIONS && rp_slice_eq(req->target, RP_SLICE_LIT("*"))) {
        rp_exchange_local_response(x, 200, NULL, NULL, 0,
                                   "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\n");
        return;
    }
    char *norm = rp_arena_alloc(&x->arena, req->path.n + 2);
    ssize_t nn = norm ? rp_uri_normalize_path(req->path, norm, req->path.n + 2, false) : -500;
    if (nn < 0) {
        x->s->want_close = true;
        rp_exchange_error(x, (int)-nn);
        return;
    }
    struct rp_slice path = {norm, (size_t)nn};
    x->route = rp_router_match(cfg, req, x->host, path);
    if (!x->route) {
        rp_exchange_error(x, 404);
        return;
    }
    if (req->body == RP_BODY_LENGTH && cfg->limits.max_body_size &&
        req->content_length > cfg->limits.max_body_size) {
        x->s->want_close = true;
        rp_exchange_error(x, 413);
        return;
    }
    x->norm_path = path;
    x->path = rewrite_path(x, path);

    switch (x->route->action) {
    case RP_ACT_RESPOND:
        rp_exchange_local_response(x, x->route->respond.status, x->route->respond.content_type,
                                   x->route->respond.body, x->route->respond.body_len, NULL);
        return;
    case RP_ACT_REDIRECT:
        respond_redirect(x);
        return;
    case RP_ACT_STATIC:
        rp_static_start(x);
        return;
    case RP_ACT_PROXY:
        rp_proxy_start(x);
        return;
    }
}

void rp_exchange_begin(struct rp_session *s, const struct rp_msg *msg, size_t head_len)
{
    struct rp_exchange *x = exchange_new(s);
    if (!x || !rp_msg_keep(&x->arena, &x->req, msg, rp_buf_rptr(&s->in), head_len)) {
        rp_buf_consume(&s->in, head_len);
        if (x) {
            s->want_close = true;
            rp_exchange_error(x, 500);
        } else {
            rp_session_drain(s, true);
        }
        return;
    }
    rp_buf_consume(&s->in, head_len);
    s->head_hint = 0;
    if (!x->req.keep_alive)
        s->want_close = true;
    exchange_start(x);
}

void rp_exchange_begin_error(struct rp_session *s, int status)
{
    struct rp_exchange *x = exchange_new(s);
    s->want_close = true;
    s->linger = true;
    if (!x) {
        rp_session_drain(s, true);
        return;
    }
    x->req.version = 11;
    snprintf(x->request_id, sizeof(x->request_id), "%016llx%016llx",
             (unsigned long long)rp_worker_rand(s->w), (unsigned long long)rp_worker_rand(s->w));
    rp_exchange_error(x, status);
}

const char *rp_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "";
    }
}

/* An IMF-fixdate of the current second, cached per thread. */
static const char *date_now(void)
{
    static _Thread_local char buf[40];
    static _Thread_local int64_t at = -1;
    int64_t now = rp_clock_wall_s();
    if (now != at) {
        rp_http_date(now, buf, sizeof(buf));
        at = now;
    }
    return buf;
}

static const struct rp_header_ops *route_ops(const struct rp_exchange *x)
{
    return x->route ? &x->route->response_headers : NULL;
}

/* Appends "Name: value\r\n" unless the route's response_headers replace or remove Name. */
static size_t std_field(const struct rp_exchange *x, char *p, size_t cap, const char *name,
                        const char *value)
{
    if (!value[0] || rp_header_ops_hides(route_ops(x), name))
        return 0;
    return rp_fitted(snprintf(p, cap, "%s: %s\r\n", name, value), cap);
}

size_t rp_local_head_size(const struct rp_exchange *x, const char *content_type)
{
    /* status line, Date, X-Request-ID, Content-Length, Connection and names: well under 256;
     * Strict-Transport-Security: under 96 */
    return 256 + 96 + strlen(x->cfg->proxy.server_header) +
           (content_type ? strlen(content_type) : 0) +
           (x->route ? rp_header_ops_size(&x->route->response_headers) : 0);
}

size_t rp_local_head_begin(struct rp_exchange *x, int status, const char *content_type, char *p,
                           size_t cap)
{
    size_t n =
        rp_fitted(snprintf(p, cap, "HTTP/1.1 %03d %s\r\n", status, rp_http_reason(status)), cap);
    n += std_field(x, p + n, cap - n, "Server", x->cfg->proxy.server_header);
    n += std_field(x, p + n, cap - n, "Date", date_now());
    n += std_field(x, p + n, cap - n, "X-Request-ID", x->request_id);
    if (content_type)
        n += std_field(x, p + n, cap - n, "Content-Type", content_type);
    n += rp_hsts_field(x, p + n, cap - n);
    return n;
}

size_t rp_local_head_end(struct rp_exchange *x, char *p, size_t cap)
{
    size_t n = x->route ? rp_header_ops_write(&x->route->response_headers, p, cap) : 0;
    return n + rp_fitted(snprintf(p + n, cap - n, "%s\r\n",
                                  x->s->want_close       ? "Connection: close\r\n"
                                  : x->req.version == 10 ? "Connection: keep-alive\r\n"
                                                         : ""),
                         cap - n);
}

void rp_exchange_local_response(struct rp_exchange *x, int status, const char *content_type,
                                const char *body, size_t body_len, const char *extra)
{
    struct rp_session *s = x->s;
    x->handler = RP_H_LOCAL;
    x->status = status;
    if (!x->req_done)
        s->want_close = true; /* the unread body would be taken for the next request */
    bool no_body = x->head_request || status == 204 || status == 304 || status < 200;
    size_t extra_len = extra ? strlen(extra) : 0;
    size_t need = rp_local_head_size(x, content_type) + extra_len + (no_body ? 0 : body_len);
    if (!rp_session_out_piece(s, need)) {
        rp_session_drain(s, true);
        return;
    }
    char *p = rp_buf_wptr(&s->out);
    size_t cap = rp_buf_room(&s->out);
    size_t n = rp_local_head_begin(x, status, body_len ? content_type : NULL, p, cap);
    if (status >= 200 && status != 204 && status != 304)
        n += rp_fitted(snprintf(p + n, cap - n, "Content-Length: %zu\r\n", body_len), cap - n);
    if (extra_len) {
        memcpy(p + n, extra, extra_len);
        n += extra_len;
    }
    n += rp_local_head_end(x, p + n, cap - n);
    s->out.tail += n;
    if (!no_body && body_len)
        rp_buf_put(&s->out, body, body_len);
    x->resp_head_sent = true;
    x->resp_done = true;
}

void rp_exchange_error(struct rp_exchange *x, int status)
{
    char body[256];
    int n = snprintf(body, sizeof(body),
                     "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
                     "<body><h1>%d %s</h1><hr><p>rampart</p></body></html>\n",
                     status, rp_http_reason(status), status, rp_http_reason(status));
    const char *extra =
        status == 405 ? "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\n" : NULL;
    if (x->handler == RP_H_PROXY)
        rp_proxy_release(x, true);
    if (x->file_fd >= 0) {
        close(x->file_fd);
        x->file_fd = -1;
    }
    rp_exchange_local_response(x, status, "text/html; charset=utf-8", body, (size_t)n, extra);
}

/* Bytes of this exchange: read up to what is still buffered for the next request, written
 * including what still waits in the output buffer. */
static void count_bytes(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    x->bytes_in = s->bytes_read - rp_buf_len(&s->in) - x->in_mark;
    x->bytes_out = s->bytes_written + rp_buf_len(&s->out) - x->out_mark;
}

/* The end every exchange shares: its log line, its backend connection (pooled unless aborted)
 * and file released, the session free of it. */
static void exchange_end(struct rp_exchange *x, bool abort)
{
    count_bytes(x);
    rp_access_log(x);
    if (x->handler == RP_H_PROXY)
        rp_proxy_release(x, abort);
    if (x->file_fd >= 0)
        close(x->file_fd);
    x->s->x = NULL;
}

static void exchange_finish(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    exchange_end(x, false);
    if (s->want_close || s->w->draining || !x->req_done) {
        s->state = RP_SS_CLOSING;
        if (!x->req_done || rp_buf_len(&s->in))
            s->linger = true; /* unread request bytes: a plain close would reset the connection */
    } else {
        s->state = RP_SS_IDLE;
    }
    exchange_free(x);
}

void rp_exchange_abort(struct rp_exchange *x)
{
    if (!x->status)
        x->status = 499; /* the client went away before an answer (nginx's convention) */
    exchange_end(x, true);
    exchange_free(x);
}

void rp_exchange_fail(struct rp_exchange *x)
{
    rp_session_drain(x->s, true);
}

bool rp_exchange_step(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    bool progress = false;
    switch (x->handler) {
    case RP_H_STATIC:
        progress = rp_static_step(x);
        break;
    case RP_H_PROXY:
        progress = rp_proxy_step(x);
        break;
    default:
        break;
    }
    if (s->closed || s->x != x || s->state == RP_SS_TUNNEL)
        return progress;
    if (x->resp_done && (x->req_done || s->want_close)) {
        exchange_finish(x);
        return true;
    }
    return progress;
}

uint64_t rp_exchange_client_timeout(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    if (s->state == RP_SS_TUNNEL)
        return x->cfg->timeouts.upgrade_idle;
    if (rp_buf_len(&s->out) && !s->can_write)
        return x->cfg->timeouts.send;
    if (!x->req_done && !s->can_read)
        return x->cfg->timeouts.body;
    return 0;
}

bool rp_exchange_on_client_timeout(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    if (x->resp_head_sent || rp_buf_len(&s->out) || x->req_done)
        return false;
    rp_exchange_error(x, 408);
    return true;
}
