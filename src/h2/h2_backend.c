/* HTTP/2 backend connections: per worker, per upstream and server address, a few real
 * connections each carrying up to min(h2_max_streams, the server's MAX_CONCURRENT_STREAMS)
 * streams; connect (and TLS + ALPN h2 when the connection has an SSL), the nghttp2 client
 * session, its frame callbacks, socket I/O, idle timeout and shutdown. */
#include <errno.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "h2/h2_backend_int.h"
#include "proxy/session.h"
#include "proxy/upstream_pool.h"
#include "tls/tls_client.h"
#include "tls/tls_io.h"

/* Rounds of the pump per pass before yielding to other connections. */
#define MAX_ROUNDS 64

static void conn_run(struct rp_h2b_conn *c);
static void conn_close(struct rp_h2b_conn *c);

/* ---- streams by id ---- */

static struct rp_h2b_stream *stream_of(struct rp_h2b_conn *c, int32_t id)
{
    struct rp_h2b_stream *st = nghttp2_session_get_stream_user_data(c->ng, id);
    if (st)
        return st;
    /* a request not sent yet has no nghttp2 stream object (frame_not_send) */
    for (st = c->streams; st; st = st->next)
        if (st->id == id)
            return st;
    return NULL;
}

void rp_h2b_stream_kick(struct rp_h2b_stream *st)
{
    if (st->vb.x && st->vb.x->s)
        rp_session_kick(st->vb.x->s);
}

/* ---- nghttp2 callbacks: they only record what happened and wake exchanges (deferred), so
 * nothing is freed while nghttp2 is on the stack ---- */

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    struct rp_h2b_conn *c = user;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct rp_h2b_stream *st = stream_of(c, f->hd.stream_id);
    if (!st)
        return 0;
    struct rp_slice n = {(const char *)name, namelen}, v = {(const char *)value, valuelen};
    /* a head or trailer section over the bound: nghttp2 resets the stream */
    return rp_h2b_stream_on_header(st, f, n, v) < 0 ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
    struct rp_h2b_conn *c = user;
    struct rp_h2b_stream *st;
    switch (f->hd.type) {
    case NGHTTP2_HEADERS:
        if ((st = stream_of(c, f->hd.stream_id)))
            rp_h2b_stream_on_headers_end(st, f);
        break;
    case NGHTTP2_DATA:
        if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && (st = stream_of(c, f->hd.stream_id)))
            rp_h2b_stream_on_end(st);
        break;
    case NGHTTP2_GOAWAY:
        /* streams above last_stream_id are closed by nghttp2 as REFUSED_STREAM */
        rp_log_debug("h2 backend %s: GOAWAY (error %u, last stream %d)", c->b->addr.text,
                     f->goaway.error_code, f->goaway.last_stream_id);
        c->dead = true;
        break;
    default:
        break;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user)
{
    struct rp_h2b_conn *c = user;
    /* the connection window is given back at once: only the stream window holds back a slow
     * client's stream, and its siblings go on */
    nghttp2_session_consume_connection(ng, len);
    struct rp_h2b_stream *st = stream_of(c, id);
    if (st)
        rp_h2b_stream_on_data(st, data, len);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error_code, void *user)
{
    struct rp_h2b_conn *c = user;
    struct rp_h2b_stream *st = stream_of(c, id);
    if (st)
        rp_h2b_stream_on_close(st, error_code);
    return 0;
}

static int on_frame_not_send(nghttp2_session *ng, const nghttp2_frame *f, int lib_error, void *user)
{
    struct rp_h2b_conn *c = user;
    struct rp_h2b_stream *st;
    /* a request that could not start (GOAWAY came first, stream ids ran out): never seen by
     * the server, so it may go elsewhere */
    if (f->hd.type == NGHTTP2_HEADERS && (st = stream_of(c, f->hd.stream_id)))
        rp_h2b_stream_on_close(st, NGHTTP2_REFUSED_STREAM);
    return 0;
}

static int new_session(struct rp_h2b_conn *c)
{
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    if (nghttp2_session_callbacks_new(&cb))
        return -1;
    if (nghttp2_option_new(&opt)) {
        nghttp2_session_callbacks_del(cb);
        return -1;
    }
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_frame_not_send);
    /* window updates follow what the client side took (rp_h2b_fill), not what arrived */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    int rv = nghttp2_session_client_new2(&c->ng, cb, c, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    if (rv)
        return -1;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, RP_H2B_STREAM_WINDOW},
    };
    if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, 2) ||
        nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0, RP_H2B_CONN_WINDOW))
        return -1;
    return 0;
}

/* ---- the real connection ---- */

static void conn_io(struct rp_io *io, uint32_t events)
{
    struct rp_bconn *b = (struct rp_bconn *)io;
    struct rp_h2b_conn *c = b->h2c;
    if (b->closed || !c)
        return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        b->can_read = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        b->rdhup = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        b->can_write = true;
    c->rounds = 0;
    conn_run(c);
}

static void conn_idle_timeout(struct rp_timer *t)
{
    struct rp_bconn *b = container_of(t, struct rp_bconn, timer);
    if (b->h2c && b->h2c->nstreams == 0)
        conn_close(b->h2c);
}

static void conn_defer_cb(struct rp_defer *d)
{
    struct rp_h2b_conn *c = container_of(d, struct rp_h2b_conn, defer);
    c->rounds = 0;
    conn_run(c);
}

void rp_h2b_conn_schedule(struct rp_h2b_conn *c)
{
    if (!c->closed)
        rp_defer(&c->w->loop, &c->defer, conn_defer_cb);
}

static void conn_free_cb(struct rp_defer *d)
{
    free(container_of(d, struct rp_h2b_conn, defer));
}

/* Close the socket and the session; streams still attached fail. Freed after this loop
 * iteration (events already fetched may name the connection). */
static void conn_close(struct rp_h2b_conn *c)
{
    if (c->closed)
        return;
    c->dead = true;
    while (c->streams) {
        struct rp_h2b_stream *st = c->streams;
        c->streams = st->next;
        st->next = st->prev = NULL;
        st->c = NULL;
        c->nstreams--;
        rp_h2b_stream_conn_lost(st);
    }
    c->closed = true;
    struct rp_worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->h2b_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    nghttp2_session_del(c->ng);
    c->ng = NULL;
    c->b->h2c = NULL;
    rp_bconn_close(c->b);
    c->b = NULL;
    rp_defer_cancel(&w->loop, &c->defer);
    rp_defer(&w->loop, &c->defer, conn_free_cb);
}

/* Connect, then the TLS handshake with ALPN h2 when the connection carries an SSL (upstream
 * protocol h2): 1 ready, 0 waiting for the socket, -1 failed (why says what). */
static int conn_setup(struct rp_h2b_conn *c, const char **why)
{
    struct rp_bconn *b = c->b;
    if (b->connecting) {
        if (!b->can_write && !b->eof)
            return 0;
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (b->eof || getsockopt(b->io.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
            *why = soerr ? strerror(soerr) : "connect failed";
            return -1;
        }
        b->connecting = false;
    }
    if (b->ssl && b->handshaking) {
        static _Thread_local char msg[256]; /* the reason, with any verification error */
        int r = rp_bconn_handshake(b, msg, sizeof(msg));
        if (r < 0)
            *why = msg;
        if (r <= 0)
            return r;
        if (!rp_tls_client_alpn_h2(b->ssl)) {
            *why = "the server did not agree to h2 (ALPN)";
            return -1;
        }
    }
    return 1;
}

/* Hand nghttp2's output to the socket while it takes it; at most about one buffer waits. */
static bool conn_send(struct rp_h2b_conn *c, int *err)
{
    struct rp_bconn *b = c->b;
    bool progress = false;
    *err = 0;
    for (;;) {
        while (rp_buf_len(&b->out) < RP_BUF_SIZE) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->ng, &data);
            if (n < 0) {
                *err = -EPROTO;
                return progress;
            }
            if (n == 0)
                break;
            size_t len = rp_buf_len(&b->out);
            if (!rp_buf_reserve(&b->out, (size_t)n, len + (size_t)n + RP_BUF_SIZE)) {
                *err = -ENOMEM;
                return progress;
            }
            rp_buf_put(&b->out, data, (size_t)n);
        }
        if (rp_buf_len(&b->out) == 0 || !b->can_write)
            return progress;
        if (!rp_bconn_flush(b, err))
            return progress;
        progress = true;
        if (*err)
            return progress;
    }
}

static void conn_run(struct rp_h2b_conn *c)
{
    if (c->closed)
        return;
    struct rp_bconn *b = c->b;
    if (!c->established) {
        const char *why = "connection failed";
        int r = conn_setup(c, &why);
        if (r < 0) {
            rp_log_warn("h2 backend %s: %s", b->addr.text, why);
            conn_close(c);
            return;
        }
        if (r == 0)
            return;
        c->established = true;
        for (struct rp_h2b_stream *st = c->streams; st; st = st->next) {
            st->vb.connecting = false;
            st->vb.can_write = true;
            rp_h2b_stream_kick(st);
        }
    }
    for (;;) {
        if (++c->rounds > MAX_ROUNDS) {
            rp_h2b_conn_schedule(c); /* let other connections run; go on next iteration */
            break;
        }
        bool progress = false;
        ssize_t n = rp_bconn_fill(b, RP_BUF_SIZE);
        if (n > 0) {
            ssize_t used = nghttp2_session_mem_recv(c->ng, (const uint8_t *)rp_buf_rptr(&b->in),
                                                    rp_buf_len(&b->in));
            if (used < 0) {
                rp_log_warn("h2 backend %s: %s", b->addr.text, nghttp2_strerror((int)used));
                conn_close(c);
                return;
            }
            rp_buf_consume(&b->in, rp_buf_len(&b->in));
            progress = true;
        }
        int err = 0;
        progress |= conn_send(c, &err);
        if (err || n < 0) {
            if (err || c->nstreams)
                rp_log_debug("h2 backend %s: connection lost (%s)", b->addr.text,
                             err ? strerror(-err) : "closed by the server");
            conn_close(c);
            return;
        }
        if (!progress)
            break;
    }
    if (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng))
        c->dead = true; /* GOAWAY exchanged: nothing more can happen here */
    if (c->dead && c->nstreams == 0) {
        conn_close(c);
        return;
    }
    if (rp_buf_len(&b->in) == 0 && b->in.data)
        rp_buf_release(&b->in);
    if (rp_buf_len(&b->out) == 0 && b->out.data)
        rp_buf_release(&b->out);
}

static uint32_t conn_limit(struct rp_h2b_conn *c)
{
    uint32_t peer =
        nghttp2_session_get_remote_settings(c->ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    uint32_t n = c->max_streams < peer ? c->max_streams : peer;
    return n ? n : 1;
}

static struct rp_h2b_conn *conn_new(struct rp_worker *w, const struct rp_upstream_conf *u,
                                    const struct rp_server_conf *srv, const char *key, int *err)
{
    /* TLS (protocol h2): rp_bconn_connect sets up the SSL offering ALPN "h2"; conn_setup runs
     * the handshake and checks the protocol chosen */
    struct rp_bconn *b = rp_bconn_connect(w, u, srv, err);
    if (!b)
        return NULL;
    struct rp_h2b_conn *c = calloc(1, sizeof(*c));
    if (!c || new_session(c) < 0) {
        if (c && c->ng)
            nghttp2_session_del(c->ng);
        free(c);
        rp_bconn_close(b);
        *err = -ENOMEM;
        return NULL;
    }
    c->b = b;
    c->w = w;
    b->h2c = c;
    b->io.cb = conn_io;
    rp_timer_init(&b->timer, conn_idle_timeout);
    c->tls = u->protocol == RP_UP_H2;
    snprintf(c->key, sizeof(c->key), "%s", key);
    c->next = w->h2b_conns;
    if (w->h2b_conns)
        w->h2b_conns->prev = c;
    w->h2b_conns = c;
    /* the preface and SETTINGS go out as soon as the connect completes */
    rp_h2b_conn_schedule(c);
    return c;
}

static void vb_timeout(struct rp_timer *t)
{
    struct rp_bconn *b = container_of(t, struct rp_bconn, timer);
    if (!b->x)
        return;
    b->eof = true;
    b->can_read = true;
    b->timed_out = true;
    rp_session_run(b->x->s);
}

struct rp_bconn *rp_h2b_open(struct rp_worker *w, const struct rp_upstream_conf *u,
                             const struct rp_server_conf *srv, int *err)
{
    const struct rp_sockaddr *addr = &srv->addr;
    /* as HTTP/1.1 pools (TLS settings included: a reload that tightens verification must not
     * keep using a connection made under the old settings), per upstream */
    char pk[RP_POOL_KEY], key[sizeof(((struct rp_h2b_conn *)0)->key)];
    rp_pool_key(u, srv, pk, sizeof(pk));
    snprintf(key, sizeof(key), "%s %s", pk, u->name);
    struct rp_h2b_conn *c = NULL;
    for (struct rp_h2b_conn *p = w->h2b_conns; p && !c; p = p->next) {
        if (p->dead || strcmp(p->key, key))
            continue;
        p->max_streams = u->h2_max_streams;
        /* stream ids are 31 bits: a connection near the end takes no new stream */
        if (nghttp2_session_get_next_stream_id(p->ng) > (1u << 31) - 4 * p->max_streams - 16) {
            p->dead = true;
            continue;
        }
        if (p->nstreams < conn_limit(p))
            c = p;
    }
    bool fresh = !c;
    if (!c && !(c = conn_new(w, u, srv, key, err)))
        return NULL;
    struct rp_h2b_stream *st = calloc(1, sizeof(*st));
    if (!st) {
        *err = -ENOMEM;
        if (fresh)
            conn_close(c);
        return NULL;
    }
    c->max_streams = u->h2_max_streams;
    c->idle_ms = u->keepalive_timeout;
    c->keepalive = u->keepalive > 0;
    struct rp_bconn *vb = &st->vb;
    vb->io.fd = -1;
    vb->w = w;
    vb->addr = *addr;
    vb->h2s = st;
    vb->connecting = !c->established;
    vb->can_write = c->established;
    vb->reused = !fresh && c->established; /* a failure may mean the server dropped it */
    rp_timer_init(&vb->timer, vb_timeout);
    st->c = c;
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    c->nstreams++;
    rp_timer_disarm(&w->loop, &c->b->timer); /* no longer idle */
    return vb;
}

void rp_h2b_conn_detach(struct rp_h2b_conn *c, struct rp_h2b_stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    st->next = st->prev = NULL;
    st->c = NULL;
    c->nstreams--;
    if (c->nstreams)
        return;
    if (!c->established || c->dead || !c->keepalive || c->w->draining) {
        conn_close(c);
        return;
    }
    rp_timer_arm(&c->w->loop, &c->b->timer, c->idle_ms);
}

void rp_h2b_close_idle(struct rp_worker *w, bool all)
{
    struct rp_h2b_conn *c = w->h2b_conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (all || c->nstreams == 0)
            conn_close(c);
        else
            c->dead = true; /* closes when its last stream ends */
    }
}
