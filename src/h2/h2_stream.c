/* One HTTP/2 stream of a client connection, as an exchange sees it: a virtual session whose
 * `in` receives the request head fields (then the raw body) and whose `out` receives rampart's
 * own HTTP/1.1 response framing, which is parsed back here into HEADERS, DATA and trailers. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "h2/h2_server_int.h"
#include "http/h1_parse.h"
#include "proxy/exchange_run.h"
#include "proxy/session.h"

struct rp_h2_stream *rp_h2_stream_new(struct rp_h2_conn *c, int32_t id)
{
    struct rp_h2_stream *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->c = c;
    st->id = id;
    rp_session_init_stream(&st->vs, c->s);
    st->vs.h2s = st;
    st->vs.can_read = false;
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    c->nlive++;
    return st;
}

/* ---- request head ---- */

int rp_h2_stream_header(struct rp_h2_stream *st, const uint8_t *name, size_t nlen,
                        const uint8_t *value, size_t vlen)
{
    struct rp_h2_conn *c = st->c;
    /* RFC 9113 6.5.2: the size of a field is its name, its value and 32 */
    st->list_size += nlen + vlen + 32;
    if (st->list_size > 4 * c->max_list + 65536)
        return -1; /* far past the advertised limit: not a client that made a mistake */
    if (st->head_status || st->began)
        return 0; /* refused already, or a trailer section (not forwarded) */
    bool pseudo = nlen && name[0] == ':';
    if (!pseudo)
        st->fields_size += nlen + vlen + 4; /* the same limits as the HTTP/1.1 head */
    if (st->list_size > c->max_list || st->fields_size > c->max_fields ||
        (!pseudo && st->nregular >= c->max_headers)) {
        st->head_status = 431;
        return 0;
    }
    if (pseudo && vlen > c->max_target) {
        st->head_status = 414; /* a :path longer than a request line may be */
        return 0;
    }
    if (st->nf == st->capf) {
        uint32_t cap = st->capf ? st->capf * 2 : 16;
        struct rp_h2_field *f = realloc(st->f, cap * sizeof(*f));
        if (!f) {
            st->head_status = 431;
            return 0;
        }
        st->f = f;
        st->capf = cap;
    }
    struct rp_buf *in = &st->vs.in;
    /* room for the fields and, later, the joined cookie (at most as long again) */
    if (!rp_buf_reserve(in, nlen + vlen, 2 * c->max_list + 4096)) {
        st->head_status = 431;
        return 0;
    }
    struct rp_h2_field *f = &st->f[st->nf++];
    f->name = (uint32_t)rp_buf_len(in);
    f->nlen = (uint32_t)nlen;
    rp_buf_put(in, name, nlen);
    f->value = (uint32_t)rp_buf_len(in);
    f->vlen = (uint32_t)vlen;
    rp_buf_put(in, value, vlen);
    if (!pseudo)
        st->nregular++;
    st->vs.bytes_read += nlen + vlen;
    return 0;
}

static struct rp_slice at(const struct rp_h2_stream *st, uint32_t off, uint32_t n)
{
    return (struct rp_slice){rp_buf_rptr(&st->vs.in) + off, n};
}

static bool parse_length(struct rp_slice v, uint64_t *out)
{
    uint64_t n = 0;
    if (v.n == 0 || v.n > 18)
        return false;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return false;
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = n;
    return true;
}

/* The request-target of an HTTP/2 request: visible ASCII only, as for HTTP/1.1. */
static bool valid_path(struct rp_slice p)
{
    for (size_t i = 0; i < p.n; i++)
        if ((unsigned char)p.p[i] <= 0x20 || (unsigned char)p.p[i] >= 0x7f)
            return false;
    return p.n && (p.p[0] == '/' || (p.n == 1 && p.p[0] == '*'));
}

/* Field values go on to HTTP/1.1 backends: no control bytes but HTAB (RFC 9110 5.5), whatever
 * an HTTP/2 peer may send. */
static bool valid_value(struct rp_slice v)
{
    for (size_t i = 0; i < v.n; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return false;
    }
    return true;
}

/* Join the cookie crumbs (RFC 9113 8.2.3) at the end of vs.in; returns the joined value. */
static struct rp_slice join_cookies(struct rp_h2_stream *st, size_t total, uint32_t n)
{
    struct rp_buf *in = &st->vs.in;
    if (!rp_buf_reserve(in, total + 2 * n, 2 * st->c->max_list + 4096 + total + 2 * n))
        return RP_SLICE_NULL;
    size_t start = rp_buf_len(in);
    bool first = true;
    for (uint32_t i = 0; i < st->nf; i++) {
        struct rp_h2_field *f = &st->f[i];
        if (!rp_slice_eq(at(st, f->name, f->nlen), RP_SLICE_LIT("cookie")))
            continue;
        if (!first)
            rp_buf_put(in, "; ", 2);
        memmove(rp_buf_wptr(in), rp_buf_rptr(in) + f->value, f->vlen);
        in->tail += f->vlen;
        first = false;
    }
    return (struct rp_slice){rp_buf_rptr(in) + start, rp_buf_len(in) - start};
}

/* Build the message from the collected fields; 0 or the status to answer instead. */
static int build_request(struct rp_h2_stream *st, struct rp_msg *m, bool end_stream)
{
    struct rp_slice method = {0}, scheme = {0}, path = {0}, authority = {0}, host = {0};
    size_t cookie_len = 0;
    uint32_t ncookies = 0;
    bool has_length = false;
    for (uint32_t i = 0; i < st->nf; i++) {
        struct rp_h2_field *f = &st->f[i];
        if (rp_slice_eq(at(st, f->name, f->nlen), RP_SLICE_LIT("cookie"))) {
            ncookies++;
            cookie_len += f->vlen;
        }
    }
    struct rp_slice cookie = {0};
    if (ncookies > 1 && !(cookie = join_cookies(st, cookie_len, ncookies)).p)
        return 431;
    /* vs.in does not move any more: slices into it are stable from here */
    for (uint32_t i = 0; i < st->nf; i++) {
        struct rp_h2_field *f = &st->f[i];
        struct rp_slice name = at(st, f->name, f->nlen), value = at(st, f->value, f->vlen);
        if (!valid_value(value))
            return 400;
        /* nghttp2 has checked the pseudo-header fields (known, once, before the others) and
         * refused connection-specific fields and TE other than "trailers" */
        if (name.n && name.p[0] == ':') {
            if (rp_slice_eq(name, RP_SLICE_LIT(":method")))
                method = value;
            else if (rp_slice_eq(name, RP_SLICE_LIT(":scheme")))
                scheme = value;
            else if (rp_slice_eq(name, RP_SLICE_LIT(":path")))
                path = value;
            else if (rp_slice_eq(name, RP_SLICE_LIT(":authority")))
                authority = value;
            continue;
        }
        if (ncookies > 1 && rp_slice_eq(name, RP_SLICE_LIT("cookie"))) {
            if (!cookie.n)
                continue; /* already added */
            value = cookie;
            cookie.n = 0;
        }
        if (rp_slice_eq(name, RP_SLICE_LIT("host"))) {
            if (host.p)
                return 400; /* one Host, as in HTTP/1.1 */
            host = value;
        } else if (rp_slice_eq(name, RP_SLICE_LIT("content-length"))) {
            if (has_length || !parse_length(value, &m->content_length))
                return 400;
            has_length = true;
        } else if (rp_slice_eq(name, RP_SLICE_LIT("expect"))) {
            if (rp_slice_case_eq_cstr(value, "100-continue"))
                m->expect_continue = true;
        }
        m->hdrs[m->nhdrs++] = (struct rp_header){name, value};
    }
    m->method = method;
    m->meth = rp_method_from_slice(method);
    st->meth = m->meth;
    if (!method.n)
        return 400;
    if (m->meth == RP_METH_CONNECT)
        return 0; /* refused with 405 by the exchange, like HTTP/1.1 */
    if (!scheme.n || !valid_path(path))
        return 400;
    if (!authority.n && !host.n)
        return 400; /* the HTTP/1.1 rule: every request names its host */
    if (authority.n && host.n && !rp_slice_case_eq(authority, host))
        return 400; /* RFC 9113 8.3.1: they must not disagree */
    if ((authority.n && !rp_host_valid(authority)) || (host.n && !rp_host_valid(host)))
        return 400; /* as HTTP/1.1's Host: no userinfo (RFC 9113 8.3.1), authority bytes only */
    m->target = path;
    const char *q = memchr(path.p, '?', path.n);
    m->path = (struct rp_slice){path.p, q ? (size_t)(q - path.p) : path.n};
    if (q)
        m->query = (struct rp_slice){q + 1, path.n - (size_t)(q - path.p) - 1};
    m->authority = authority;
    m->host = host.n ? host : authority;
    m->version = 20;
    m->keep_alive = true;
    m->body = end_stream ? RP_BODY_NONE : has_length ? RP_BODY_LENGTH : RP_BODY_CLOSE;
    return 0;
}

void rp_h2_stream_head_done(struct rp_h2_stream *st, bool end_stream)
{
    struct rp_session *vs = &st->vs;
    st->began = true;
    if (end_stream) {
        st->req_end = vs->eof = true;
        vs->can_read = true;
    }
    /* the method first: an early answer (400, 431) to a HEAD request must carry no body */
    for (uint32_t i = 0; i < st->nf; i++)
        if (rp_slice_eq(at(st, st->f[i].name, st->f[i].nlen), RP_SLICE_LIT(":method")))
            st->meth = rp_method_from_slice(at(st, st->f[i].value, st->f[i].vlen));
    struct rp_header *hdrs = calloc(st->nregular + 1, sizeof(*hdrs));
    struct rp_msg m = {.hdrs = hdrs, .cap_hdrs = st->nregular + 1};
    int status = st->head_status ? st->head_status
                 : !hdrs         ? 500
                                 : build_request(st, &m, end_stream);
    if (status) {
        vs->in.head = vs->in.tail = 0; /* the fields; the body (if any) follows */
        rp_exchange_begin_error(vs, status);
    } else {
        rp_exchange_begin(vs, &m, rp_buf_len(&vs->in));
    }
    free(hdrs);
    free(st->f);
    st->f = NULL;
    st->nf = st->capf = 0;
    if (!vs->closed && rp_buf_len(&vs->in) == 0)
        rp_buf_release(&vs->in); /* taken again when body bytes arrive */
    rp_session_kick(vs);
}

/* ---- request body ---- */

void rp_h2_stream_data(struct rp_h2_stream *st, const uint8_t *p, size_t n)
{
    struct rp_h2_conn *c = st->c;
    struct rp_session *vs = &st->vs;
    if (st->vs_closed || !vs->x) {
        nghttp2_session_consume(c->ng, st->id, n); /* nobody reads it: give the window back */
        return;
    }
    /* the stream window bounds what can arrive ahead of the exchange */
    if (!rp_buf_reserve(&vs->in, n, (size_t)c->window + RP_BUF_SIZE)) {
        nghttp2_session_consume(c->ng, st->id, n);
        nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    rp_buf_put(&vs->in, p, n);
    st->unacked += n;
    vs->bytes_read += n;
    vs->can_read = true;
    rp_session_kick(vs);
}

void rp_h2_stream_end(struct rp_h2_stream *st)
{
    st->req_end = true;
    st->vs.eof = st->vs.can_read = true;
    rp_session_kick(&st->vs);
}

void rp_h2_stream_ack(struct rp_h2_stream *st)
{
    size_t left = rp_buf_len(&st->vs.in);
    if (st->unacked > left) {
        /* on a closed stream this still reopens the connection window */
        nghttp2_session_consume(st->c->ng, st->id, (size_t)(st->unacked - left));
        st->unacked = left;
    }
}

ssize_t rp_h2_stream_fill(struct rp_session *vs)
{
    struct rp_h2_stream *st = vs->h2s;
    if (st->unacked > rp_buf_len(&vs->in))
        rp_session_kick(st->c->s); /* the exchange took bytes: WINDOW_UPDATE */
    if (rp_buf_len(&vs->in))
        return 0;
    rp_buf_release(&vs->in); /* a stream waiting for body bytes holds no buffer */
    if (vs->eof)
        return -1;
    vs->can_read = false; /* until DATA arrives (the body timeout runs meanwhile) */
    return 0;
}

/* ---- response ---- */

static bool connection_specific(struct rp_slice name)
{
    static const char *const names[] = {"connection", "keep-alive", "proxy-connection",
                                        "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (rp_slice_case_eq_cstr(name, names[i]))
            return true;
    return false;
}

static void lower(struct rp_slice s)
{
    char *p = (char *)s.p; /* into the session's own output buffer */
    for (size_t i = 0; i < s.n; i++)
        if (p[i] >= 'A' && p[i] <= 'Z')
            p[i] = (char)(p[i] + 32);
}

static nghttp2_nv nv_of(struct rp_slice name, struct rp_slice value)
{
    return (nghttp2_nv){(uint8_t *)name.p, (uint8_t *)value.p, name.n, value.n,
                        NGHTTP2_NV_FLAG_NONE};
}

static void keep_trailer(struct rp_h2_stream *st, struct rp_slice line)
{
    if (!rp_trailer_allowed(line) || st->ntrailers + line.n + 1 > st->c->max_list)
        return;
    if (st->ntrailers + line.n + 1 > st->captrailers) {
        size_t cap = st->captrailers ? st->captrailers * 2 : 512;
        while (cap < st->ntrailers + line.n + 1)
            cap *= 2;
        char *p = realloc(st->trailers, cap);
        if (!p)
            return;
        st->trailers = p;
        st->captrailers = cap;
    }
    memcpy(st->trailers + st->ntrailers, line.p, line.n);
    st->trailers[st->ntrailers + line.n] = '\n';
    st->ntrailers += line.n + 1;
}

/* The trailer section as a HEADERS frame that ends the stream (gRPC puts its status there). */
static bool submit_trailers(struct rp_h2_stream *st)
{
    nghttp2_nv nv[64];
    size_t n = 0;
    char *p = st->trailers, *end = st->trailers + st->ntrailers;
    while (p < end && n < 64) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            struct rp_slice name = {p, (size_t)(colon - p)};
            struct rp_slice value =
                rp_slice_trim_ows((struct rp_slice){colon + 1, (size_t)(eol - colon - 1)});
            lower(name);
            nv[n++] = nv_of(name, value);
        }
        p = eol + 1;
    }
    return n && nghttp2_submit_trailer(st->c->ng, st->id, nv, n) == 0;
}

static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)ng, (void)id, (void)ud;
    struct rp_h2_stream *st = src->ptr;
    struct rp_session *vs = &st->vs;
    size_t n = 0;
    /* decoded bytes that did not fit into the previous frame */
    if (rp_buf_len(&st->carry)) {
        n = rp_buf_len(&st->carry) < length ? rp_buf_len(&st->carry) : length;
        memcpy(buf, rp_buf_rptr(&st->carry), n);
        rp_buf_consume(&st->carry, n);
        if (!rp_buf_len(&st->carry))
            rp_buf_release(&st->carry);
    }
    while (n < length && !st->rd.done && !st->vs_closed) {
        size_t len = rp_buf_len(&vs->out);
        bool eof = st->rd.kind == RP_BODY_CLOSE && !vs->x; /* the exchange wrote it all */
        if (!len && !eof)
            break;
        enum rp_chunk_ev ev;
        struct rp_slice d;
        ssize_t r = rp_body_read(&st->rd, rp_buf_rptr(&vs->out), len, eof, &ev, &d);
        if (r < 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* cannot happen: our own framing */
        if (ev == RP_CHUNK_DATA) {
            size_t k = d.n < length - n ? d.n : length - n;
            memcpy(buf + n, d.p, k);
            n += k;
            if (k < d.n) {
                if (!rp_buf_reserve(&st->carry, d.n - k, RP_BUF_SIZE))
                    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
                rp_buf_put(&st->carry, d.p + k, d.n - k);
            }
        } else if (ev == RP_CHUNK_TRAILER) {
            keep_trailer(st, d);
        }
        rp_buf_consume(&vs->out, (size_t)r);
        vs->bytes_written += (uint64_t)r;
        if (r == 0 && ev == RP_CHUNK_NONE)
            break;
    }
    if (st->rd.done && !rp_buf_len(&st->carry)) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (st->ntrailers && submit_trailers(st))
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        st->resp_eof = true;
    } else if (n == 0) {
        st->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    vs->can_write = true;
    rp_session_kick(vs); /* room in its output: the exchange goes on */
    return (ssize_t)n;
}

/* Parse one head from vs.out and submit it: 1 done, 0 incomplete, -1 error. */
static int submit_head(struct rp_h2_stream *st)
{
    struct rp_session *vs = &st->vs;
    static _Thread_local struct rp_header hdrs[1024];
    static _Thread_local nghttp2_nv nv[1025];
    struct rp_msg m = {.hdrs = hdrs, .cap_hdrs = 1024};
    struct rp_h1_limits lim = {
        .max_request_line = 65536, .max_head = 1u << 24, .max_headers = 1024};
    ssize_t r = rp_h1_parse_response(rp_buf_rptr(&vs->out), rp_buf_len(&vs->out), &m, st->meth,
                                     &lim, &st->resp_hint);
    if (r <= 0)
        return r == 0 ? 0 : -1;
    st->resp_hint = 0;
    int code = m.status; /* 100..999: the parser read three digits */
    char status[3] = {(char)('0' + code / 100 % 10), (char)('0' + code / 10 % 10),
                      (char)('0' + code % 10)};
    size_t n = 0;
    nv[n++] = nv_of(RP_SLICE_LIT(":status"), (struct rp_slice){status, 3});
    for (uint32_t i = 0; i < m.nhdrs; i++) {
        if (connection_specific(m.hdrs[i].name))
            continue;
        lower(m.hdrs[i].name);
        nv[n++] = nv_of(m.hdrs[i].name, m.hdrs[i].value);
    }
    struct rp_h2_conn *c = st->c;
    int rv;
    if (m.status < 200) {
        rv = nghttp2_submit_headers(c->ng, NGHTTP2_FLAG_NONE, st->id, NULL, nv, n, NULL);
    } else if (m.body == RP_BODY_NONE) {
        rv = nghttp2_submit_response(c->ng, st->id, nv, n, NULL);
        st->resp_eof = true;
    } else {
        struct rp_chunked *ch = NULL;
        if (m.body == RP_BODY_CHUNKED && !(ch = st->chunked = malloc(sizeof(*ch))))
            return -1;
        rp_body_reader_init(&st->rd, m.body, m.content_length, ch);
        nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_body};
        rv = nghttp2_submit_response(c->ng, st->id, nv, n, &prd);
    }
    if (rv != 0)
        return -1;
    rp_buf_consume(&vs->out, (size_t)r);
    vs->bytes_written += (uint64_t)r;
    if (m.status >= 200) {
        st->head_sent = true;
        if (st->resp_eof)
            vs->out.head = vs->out.tail = 0; /* no body (HEAD, 204, 304) */
    }
    return 1;
}

bool rp_h2_stream_flush(struct rp_session *vs)
{
    struct rp_h2_stream *st = vs->h2s;
    struct rp_h2_conn *c = st->c;
    if (c->dead || st->h2_closed) {
        vs->out.head = vs->out.tail = 0; /* the client is gone or reset the stream */
        return false;
    }
    bool moved = false;
    while (!st->head_sent && rp_buf_len(&vs->out)) {
        int r = submit_head(st);
        if (r == 0)
            break;
        if (r < 0) {
            rp_log_error("client %s: HTTP/2 stream %d: response head not convertible", vs->peer_ip,
                         (int)st->id);
            rp_session_drain(vs, true); /* resets the stream */
            return true;
        }
        moved = true;
    }
    if (st->head_sent && !st->resp_eof && rp_buf_len(&vs->out)) {
        if (st->deferred) {
            st->deferred = false;
            nghttp2_session_resume_data(c->ng, st->id);
        }
        vs->can_write = false; /* until the connection takes bytes (then the send timeout) */
    }
    rp_session_kick(c->s);
    return moved;
}

/* ---- end of a stream ---- */

static void free_cb(struct rp_defer *d)
{
    struct rp_h2_stream *st = container_of(d, struct rp_h2_stream, vs.defer);
    free(st->chunked);
    free(st->trailers);
    free(st->f);
    rp_buf_release(&st->carry);
    free(st);
}

void rp_h2_stream_free_later(struct rp_h2_stream *st)
{
    if (st->freeing)
        return;
    st->freeing = true;
    struct rp_h2_conn *c = st->c;
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    /* after this loop pass: the caller's stack may still hold it */
    struct rp_loop *loop = &st->vs.w->loop;
    rp_defer_cancel(loop, &st->vs.defer);
    rp_defer(loop, &st->vs.defer, free_cb);
}

void rp_h2_stream_close(struct rp_session *vs)
{
    struct rp_h2_stream *st = vs->h2s;
    struct rp_h2_conn *c = st->c;
    if (vs->closed)
        return;
    vs->closed = true;
    if (vs->x)
        rp_exchange_abort(vs->x);
    rp_timer_disarm(&vs->w->loop, &vs->timer);
    rp_defer_cancel(&vs->w->loop, &vs->defer);
    st->vs_closed = true;
    if (--c->nlive == 0)
        c->idle_since = vs->w->loop.now;
    rp_buf_release(&vs->in);
    rp_buf_release(&vs->out);
    if (!c->dead) {
        rp_h2_stream_ack(st); /* what was never read reopens the windows */
        /* every byte was decoded; what did not fit a frame yet goes out from `carry` */
        bool complete = st->resp_eof || (st->head_sent && st->rd.done);
        if (!st->h2_closed) {
            if (!complete)
                nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
            else if (!st->req_end && st->end_sent)
                nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
            else if (!st->req_end)
                st->rst_after_end = true; /* RFC 9113 8.1: the body is not wanted any more */
        }
        rp_session_kick(c->s);
    }
    if (st->h2_closed || c->dead)
        rp_h2_stream_free_later(st);
}

void rp_h2_stream_on_close(struct rp_h2_stream *st, uint32_t error_code)
{
    st->h2_closed = true;
    if (st->vs_closed) {
        rp_h2_stream_free_later(st);
    } else if (st->resp_eof && error_code == NGHTTP2_NO_ERROR) {
        rp_session_kick(&st->vs); /* answered: the exchange ends on its own */
    } else {
        rp_session_drain(&st->vs, true); /* reset by the client: abort the exchange */
    }
}

void rp_h2_stream_on_end_sent(struct rp_h2_stream *st)
{
    st->end_sent = true;
    if (st->rst_after_end && !st->h2_closed)
        nghttp2_submit_rst_stream(st->c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
}
