/* One exchange on an HTTP/2 backend stream, seen by the proxy as a virtual rp_bconn: the
 * HTTP/1.1 request rampart wrote into b->out becomes HEADERS, DATA and trailing HEADERS; the
 * response frames become an HTTP/1.1 head, chunks and a trailer section in b->in. Response
 * DATA is acknowledged (stream WINDOW_UPDATE) only as the proxy takes it, so a slow client
 * slows its own stream and no other. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "h2/h2_backend_int.h"
#include "http/h1_parse.h"

static bool name_is(struct rp_slice name, const char *s)
{
    return rp_slice_case_eq_cstr(name, s);
}

/* Append to a buffer that may grow up to its length plus n (bounded by the caller). */
static bool buf_append(struct rp_buf *b, const char *p, size_t n, size_t bound)
{
    if (rp_buf_len(b) + n > bound)
        return false;
    if (n && !rp_buf_reserve(b, n, rp_buf_len(b) + n + RP_BUF_SIZE))
        return false;
    if (n)
        rp_buf_put(b, p, n);
    return true;
}

static bool append_field(struct rp_buf *b, struct rp_slice name, struct rp_slice value,
                         size_t bound)
{
    if (rp_buf_len(b) + name.n + value.n + 4 > bound)
        return false;
    return buf_append(b, name.p, name.n, bound) && buf_append(b, ": ", 2, bound) &&
           buf_append(b, value.p, value.n, bound) && buf_append(b, "\r\n", 2, bound);
}

/* ---- request: HTTP/1.1 head to HEADERS ---- */

/* Connection-specific fields have no place in HTTP/2 (RFC 9113 8.2.2); Host becomes
 * :authority; TE survives only as "trailers". */
static bool drop_request_field(struct rp_slice name)
{
    static const char *const drop[] = {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
        "host",       "te"};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (name_is(name, drop[i]))
            return true;
    return false;
}

/* nghttp2 copies names and values on submit: they can live in a scratch area. */
struct nvlist {
    nghttp2_nv *nv;
    size_t n, cap;
    char *low; /* lowercased names */
    size_t lown, lowcap;
};

static void nv_add(struct nvlist *l, struct rp_slice name, struct rp_slice value, bool lower)
{
    if (l->n == l->cap || l->lowcap - l->lown < name.n)
        return; /* sized beforehand: cannot happen */
    char *p = (char *)name.p;
    if (lower) {
        p = l->low + l->lown;
        for (size_t i = 0; i < name.n; i++) {
            char ch = name.p[i];
            p[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
        }
        l->lown += name.n;
    }
    l->nv[l->n++] =
        (nghttp2_nv){(uint8_t *)p, (uint8_t *)value.p, name.n, value.n, NGHTTP2_NV_FLAG_NONE};
}

static bool nv_init(struct nvlist *l, size_t nfields, size_t names)
{
    l->cap = nfields;
    l->lowcap = names;
    l->n = l->lown = 0;
    l->nv = malloc(nfields * sizeof(*l->nv) + names + 1);
    l->low = l->nv ? (char *)(l->nv + nfields) : NULL;
    return l->nv != NULL;
}

static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *user);

/* Parse the head the proxy wrote and submit it: 1 done, 0 incomplete, -1 failed. */
static int submit_request(struct rp_h2b_stream *st)
{
    struct rp_bconn *vb = &st->vb;
    struct rp_h2b_conn *c = st->c;
    static _Thread_local struct rp_header hdrs[1024];
    struct rp_msg m = {.hdrs = hdrs, .cap_hdrs = 1024};
    struct rp_h1_limits lim = {
        .max_request_line = 1u << 20, .max_head = 1u << 24, .max_headers = 1024};
    size_t hint = 0;
    ssize_t r = rp_h1_parse_request(rp_buf_rptr(&vb->out), rp_buf_len(&vb->out), &m, &lim, &hint);
    if (r <= 0)
        return r == 0 ? 0 : -1;
    struct nvlist l;
    if (!nv_init(&l, 4 + (size_t)m.nhdrs, (size_t)r))
        return -1;
    nv_add(&l, RP_SLICE_LIT(":method"), m.method, false);
    nv_add(&l, RP_SLICE_LIT(":scheme"), c->tls ? RP_SLICE_LIT("https") : RP_SLICE_LIT("http"),
           false);
    nv_add(&l, RP_SLICE_LIT(":authority"), m.host, false);
    nv_add(&l, RP_SLICE_LIT(":path"), m.target, false);
    for (uint32_t i = 0; i < m.nhdrs; i++) {
        struct rp_slice name = m.hdrs[i].name;
        if (name_is(name, "te") && rp_msg_has_token(&m, name, RP_SLICE_LIT("trailers")))
            nv_add(&l, RP_SLICE_LIT("te"), RP_SLICE_LIT("trailers"), false);
        else if (!drop_request_field(name))
            nv_add(&l, name, m.hdrs[i].value, true);
    }
    st->meth = m.meth;
    if (m.body == RP_BODY_CHUNKED && !(st->req_chunked = malloc(sizeof(*st->req_chunked)))) {
        free(l.nv);
        return -1;
    }
    rp_body_reader_init(&st->req_body, m.body, m.content_length, st->req_chunked);
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_body};
    int32_t id =
        nghttp2_submit_request(c->ng, NULL, l.nv, l.n, st->req_body.done ? NULL : &prd, st);
    free(l.nv);
    if (id < 0) {
        /* no stream id left on this connection: the request never left */
        c->dead = true;
        vb->refused = true;
        return -1;
    }
    st->id = id;
    st->submitted = true;
    st->req_end = st->req_body.done;
    rp_buf_consume(&vb->out, (size_t)r);
    return 1;
}

/* The trailer section of a chunked request body as trailing HEADERS. */
static int submit_trailers(nghttp2_session *ng, struct rp_h2b_stream *st)
{
    struct rp_slice all = {rp_buf_rptr(&st->req_trailers), rp_buf_len(&st->req_trailers)};
    size_t lines = 0;
    for (size_t i = 0; i < all.n; i++)
        lines += all.p[i] == '\n';
    struct nvlist l;
    if (!nv_init(&l, lines, all.n))
        return -1;
    while (all.n) {
        const char *eol = memchr(all.p, '\n', all.n);
        size_t len = eol ? (size_t)(eol - all.p) + 1 : all.n;
        struct rp_slice line = {all.p, len};
        while (line.n && (line.p[line.n - 1] == '\n' || line.p[line.n - 1] == '\r'))
            line.n--;
        const char *colon = memchr(line.p, ':', line.n);
        if (colon) {
            struct rp_slice name = {line.p, (size_t)(colon - line.p)};
            struct rp_slice value = {colon + 1, line.n - name.n - 1};
            if (!drop_request_field(name))
                nv_add(&l, name, rp_slice_trim_ows(value), true);
        }
        all.p += len;
        all.n -= len;
    }
    int rv = l.n ? nghttp2_submit_trailer(ng, st->id, l.nv, l.n) : -1;
    free(l.nv);
    return rv;
}

/* nghttp2 wants DATA: decode the framed body the proxy put in vb.out (Content-Length or
 * chunked, rampart's own framing) into buf. */
static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *user)
{
    struct rp_h2b_stream *st = nghttp2_session_get_stream_user_data(ng, id);
    if (!st)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* released: reset the stream */
    struct rp_buf *out = &st->vb.out;
    size_t copied = 0;
    bool took = false;
    while (copied < length && !st->req_body.done) {
        size_t len = rp_buf_len(out);
        size_t lim = len < length - copied ? len : length - copied;
        enum rp_chunk_ev ev;
        struct rp_slice o;
        ssize_t r = rp_body_read(&st->req_body, rp_buf_rptr(out), lim, false, &ev, &o);
        if (r < 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        if (ev == RP_CHUNK_DATA) {
            memcpy(buf + copied, o.p, o.n);
            copied += o.n;
        } else if (ev == RP_CHUNK_TRAILER) {
            /* over the bound: the rest of the trailers is dropped, the body still ends */
            if (rp_buf_len(&st->req_trailers) + o.n + 2 <= RP_H2B_MAX_HEAD) {
                buf_append(&st->req_trailers, o.p, o.n, RP_H2B_MAX_HEAD);
                buf_append(&st->req_trailers, "\r\n", 2, RP_H2B_MAX_HEAD);
            }
        }
        if (r > 0) {
            rp_buf_consume(out, (size_t)r);
            took = true;
        }
        if (r == 0 && ev == RP_CHUNK_NONE)
            break; /* needs bytes the proxy has not written yet */
    }
    if (took)
        rp_h2b_stream_kick(st); /* room in vb.out: the proxy may read more of the client */
    if (st->req_body.done) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        st->req_end = true;
        if (rp_buf_len(&st->req_trailers) && submit_trailers(ng, st) == 0)
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        rp_buf_release(&st->req_trailers);
        return (ssize_t)copied;
    }
    if (copied == 0) {
        st->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)copied;
}

bool rp_h2b_flush(struct rp_bconn *b, int *err)
{
    struct rp_h2b_stream *st = b->h2s;
    *err = 0;
    if (!st->c || st->failed || st->closed) {
        /* the stream takes nothing more; an answer may still be there to read */
        if (rp_buf_len(&b->out) || !st->req_end)
            *err = -EPIPE;
        return false;
    }
    if (!st->c->established)
        return false;
    if (!st->submitted) {
        int r = submit_request(st);
        if (r < 0) {
            st->failed = true;
            *err = -EPIPE;
            return false;
        }
        if (r == 0)
            return false;
        rp_h2b_conn_schedule(st->c);
        return true;
    }
    if (st->deferred && rp_buf_len(&b->out)) {
        st->deferred = false;
        nghttp2_session_resume_data(st->c->ng, st->id);
        rp_h2b_conn_schedule(st->c);
    }
    return false;
}

/* ---- response: frames to HTTP/1.1 in vb.in ---- */

int rp_h2b_stream_on_header(struct rp_h2b_stream *st, const nghttp2_frame *f, struct rp_slice name,
                            struct rp_slice value)
{
    struct rp_bconn *vb = &st->vb;
    if (st->head_done) {
        /* the trailer section (pseudo-fields are refused there by nghttp2) */
        if (st->no_body || (name.n && name.p[0] == ':'))
            return 0;
        return append_field(&st->trailers, name, value, RP_H2B_MAX_HEAD) ? 0 : -1;
    }
    if (name_is(name, ":status")) {
        int status = 0;
        for (size_t i = 0; i < value.n && i < 3; i++)
            status = status * 10 + (value.p[i] - '0'); /* three digits, checked by nghttp2 */
        if (status < 200) {
            st->interim = true; /* 1xx: not relayed (the proxy drops them too) */
            return 0;
        }
        st->interim = false;
        st->status = status;
        st->no_body = st->meth == RP_METH_HEAD || status == 204 || status == 304;
        st->only_head = !st->no_body && (f->hd.flags & NGHTTP2_FLAG_END_STREAM);
        char line[32];
        int k = snprintf(line, sizeof(line), "HTTP/1.1 %03d \r\n", status);
        return buf_append(&vb->in, line, (size_t)k, RP_H2B_MAX_HEAD) ? 0 : -1;
    }
    if (st->interim || !st->status || (name.n && name.p[0] == ':'))
        return 0;
    /* the body is relayed chunked; a HEAD or 304 answer keeps its length as information */
    if (!st->no_body && name_is(name, "content-length"))
        return 0;
    if (name_is(name, "content-type")) {
        st->grpc = value.n >= 16 && !strncmp(value.p, "application/grpc", 16);
    } else if (st->only_head) {
        /* a response without body: in gRPC's "Trailers-Only" form everything but the status
         * and the content type is trailers; which it is is known at the end of the block */
        return append_field(&st->trailers, name, value, RP_H2B_MAX_HEAD) ? 0 : -1;
    }
    return append_field(&vb->in, name, value, RP_H2B_MAX_HEAD) ? 0 : -1;
}

void rp_h2b_stream_on_headers_end(struct rp_h2b_stream *st, const nghttp2_frame *f)
{
    bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (!st->head_done) {
        if (st->interim || !st->status) {
            st->interim = false;
            return;
        }
        /* gRPC Trailers-Only keeps its trailers (grpc-status...) as a trailer section, so an
         * HTTP/2 client gets them in a trailing HEADERS frame again; other bodiless answers
         * keep their fields in the head */
        bool keep_trailers = st->only_head && st->grpc;
        const char *tail = "Transfer-Encoding: chunked\r\n\r\n";
        if (st->no_body) {
            tail = "\r\n";
        } else if (end && !keep_trailers) {
            tail = "Content-Length: 0\r\n\r\n";
            struct rp_buf *t = &st->trailers;
            if (rp_buf_len(t) &&
                !buf_append(&st->vb.in, rp_buf_rptr(t), rp_buf_len(t), 2 * RP_H2B_MAX_HEAD))
                tail = NULL;
            rp_buf_release(t);
        }
        if (!tail || !buf_append(&st->vb.in, tail, strlen(tail), 2 * RP_H2B_MAX_HEAD + 64)) {
            st->failed = true;
            nghttp2_submit_rst_stream(st->c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        }
        st->head_done = true;
        st->end_written = st->no_body || (end && !keep_trailers); /* no chunked body follows */
        rp_h2b_stream_kick(st);
    }
    if (end)
        rp_h2b_stream_on_end(st);
}

void rp_h2b_stream_on_end(struct rp_h2b_stream *st)
{
    st->ended = true;
    rp_h2b_stream_kick(st);
}

void rp_h2b_stream_on_data(struct rp_h2b_stream *st, const uint8_t *p, size_t n)
{
    if (!st->head_done || st->no_body || st->failed) {
        nghttp2_session_consume_stream(st->c->ng, st->id, n); /* nothing to relay */
        return;
    }
    /* bounded by the stream window, which opens only as the proxy takes the bytes */
    if (!buf_append(&st->rdata, (const char *)p, n, 2 * RP_H2B_STREAM_WINDOW)) {
        st->failed = true;
        nghttp2_submit_rst_stream(st->c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    }
    rp_h2b_stream_kick(st);
}

void rp_h2b_stream_on_close(struct rp_h2b_stream *st, uint32_t error_code)
{
    if (st->closed)
        return;
    st->closed = true;
    if (!st->ended) {
        st->failed = true;
        /* the server did not process it (RFC 9113 8.7): safe to send again */
        if (error_code == NGHTTP2_REFUSED_STREAM && !st->head_done)
            st->vb.refused = true;
        rp_log_debug("h2 backend %s: stream %d reset (error %u)", st->vb.addr.text, st->id,
                     error_code);
    }
    rp_h2b_stream_kick(st);
}

void rp_h2b_stream_conn_lost(struct rp_h2b_stream *st)
{
    st->c = NULL;
    if (!st->ended) {
        st->failed = true;
        if (st->vb.connecting)
            st->vb.eof = true; /* the proxy sees a failed connect: next server */
    }
    rp_h2b_stream_kick(st);
}

ssize_t rp_h2b_fill(struct rp_bconn *b, size_t max)
{
    struct rp_h2b_stream *st = b->h2s;
    if (b->eof)
        return -1; /* timed out, or the connection failed */
    size_t cap = max > RP_BUF_SIZE ? max : RP_BUF_SIZE;
    size_t added = 0;
    if (st->head_done && rp_buf_len(&st->rdata) && rp_buf_reserve(&b->in, 64, cap)) {
        /* the data as one chunk, as much as fits */
        size_t n = rp_buf_len(&st->rdata), room = rp_buf_room(&b->in) - 32;
        if (n > room)
            n = room;
        char line[24];
        int k = snprintf(line, sizeof(line), "%zx\r\n", n);
        rp_buf_put(&b->in, line, (size_t)k);
        rp_buf_put(&b->in, rp_buf_rptr(&st->rdata), n);
        rp_buf_put(&b->in, "\r\n", 2);
        rp_buf_consume(&st->rdata, n);
        if (rp_buf_len(&st->rdata) == 0)
            rp_buf_release(&st->rdata);
        added += (size_t)k + n + 2;
        if (st->c && !st->closed) {
            nghttp2_session_consume_stream(st->c->ng, st->id, n);
            rp_h2b_conn_schedule(st->c); /* the WINDOW_UPDATE */
        }
    }
    if (st->head_done && st->ended && !st->end_written && rp_buf_len(&st->rdata) == 0) {
        size_t need = 5 + rp_buf_len(&st->trailers);
        if (!rp_buf_reserve(&b->in, need, rp_buf_len(&b->in) + need + RP_BUF_SIZE))
            return (ssize_t)added;
        rp_buf_put(&b->in, "0\r\n", 3);
        if (rp_buf_len(&st->trailers))
            rp_buf_put(&b->in, rp_buf_rptr(&st->trailers), rp_buf_len(&st->trailers));
        rp_buf_put(&b->in, "\r\n", 2);
        rp_buf_release(&st->trailers);
        st->end_written = true;
        added += need;
    }
    if (added)
        return (ssize_t)added;
    if (st->failed && !st->end_written && rp_buf_len(&st->rdata) == 0) {
        b->eof = true;
        b->error = true;
        return -1;
    }
    return 0;
}

static void free_cb(struct rp_defer *d)
{
    struct rp_bconn *b = container_of(d, struct rp_bconn, defer);
    free(b->h2s);
}

void rp_h2b_release(struct rp_bconn *b, const struct rp_upstream_conf *u)
{
    struct rp_h2b_stream *st = b->h2s;
    if (b->closed)
        return;
    b->closed = true;
    rp_timer_disarm(&b->w->loop, &b->timer);
    struct rp_h2b_conn *c = st->c;
    if (c) {
        if (u) {
            c->idle_ms = u->keepalive_timeout;
            c->keepalive = u->keepalive > 0;
        }
        if (st->submitted) {
            /* an unfinished stream is cancelled; nghttp2 also drops a request not sent yet */
            if (!st->closed)
                nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
            nghttp2_session_set_stream_user_data(c->ng, st->id, NULL);
            rp_h2b_conn_schedule(c);
        }
        rp_h2b_conn_detach(c, st);
    }
    rp_buf_release(&b->in);
    rp_buf_release(&b->out);
    rp_buf_release(&st->rdata);
    rp_buf_release(&st->trailers);
    rp_buf_release(&st->req_trailers);
    free(st->req_chunked);
    st->req_chunked = NULL;
    b->x = NULL;
    rp_defer(&b->w->loop, &b->defer, free_cb);
}
