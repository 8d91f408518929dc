/* Backend connections: non-blocking connect, TLS set-up and handshake, buffered I/O, and
 * keep-alive pools per worker and server address (bounded count, idle timeout). A pooled
 * connection that becomes readable has been closed by the backend (or sent garbage) and is
 * dropped. */
#include "proxy/upstream_pool.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "h2/h2_backend.h"
#include "net/sock_io.h"
#include "proxy/session.h"
#include "tls/tls_client.h"
#include "tls/tls_io.h"

static struct rp_tls_ready tls_ready(struct rp_bconn *b)
{
    return (struct rp_tls_ready){&b->can_read, &b->can_write};
}

void rp_pool_key(const struct rp_upstream_conf *u, const struct rp_server_conf *srv, char *out,
                 size_t n)
{
    if (!u->tls && u->protocol == RP_UP_HTTP1) {
        snprintf(out, n, "%s", srv->addr.text);
        return;
    }
    char buf[256];
    const char *name = u->tls ? rp_tls_client_server_name(u, srv, buf, sizeof(buf)) : NULL;
    uint64_t h = u->tls ? u->tls->id : 0x84222325cbf29ce4ULL;
    for (const char *p = name ? name : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    h = (h ^ (uint64_t)u->protocol) * 0x100000001b3ULL;
    snprintf(out, n, "%s%016" PRIx64 "|%s", u->tls ? "tls|" : "h2c|", h, srv->addr.text);
}

static struct rp_pool *find_pool(struct rp_worker *w, const char *key)
{
    for (uint32_t i = 0; i < w->npools; i++)
        if (!strcmp(w->pools[i].key, key))
            return &w->pools[i];
    return NULL;
}

static struct rp_pool *pool_for(struct rp_worker *w, const char *key)
{
    struct rp_pool *found = find_pool(w, key);
    if (found)
        return found;
    struct rp_pool *np = realloc(w->pools, (w->npools + 1) * sizeof(*np));
    if (!np)
        return NULL;
    /* pooled connections point at their pool: fix them after the move */
    for (uint32_t i = 0; i < w->npools; i++)
        for (struct rp_bconn *b = np[i].idle; b; b = b->pool_next)
            b->pool = &np[i];
    w->pools = np;
    struct rp_pool *p = &w->pools[w->npools++];
    memset(p, 0, sizeof(*p));
    snprintf(p->key, sizeof(p->key), "%s", key);
    return p;
}

static void pool_unlink(struct rp_bconn *b)
{
    struct rp_pool *p = b->pool;
    if (!p)
        return;
    if (b->pool_prev)
        b->pool_prev->pool_next = b->pool_next;
    else
        p->idle = b->pool_next;
    if (b->pool_next)
        b->pool_next->pool_prev = b->pool_prev;
    b->pool_next = b->pool_prev = NULL;
    b->pool = NULL;
    p->nidle--;
}

static void bconn_io(struct rp_io *io, uint32_t events)
{
    struct rp_bconn *b = (struct rp_bconn *)io;
    if (b->closed)
        return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        b->can_read = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        b->rdhup = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        b->can_write = true;
    if (b->x) {
        rp_session_run(b->x->s);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        rp_bconn_close(b); /* idle in the pool: the backend closed it or misbehaves */
}

static void bconn_timeout(struct rp_timer *t)
{
    struct rp_bconn *b = container_of(t, struct rp_bconn, timer);
    if (!b->x) {
        rp_bconn_close(b); /* idle too long */
        return;
    }
    b->eof = true;
    b->can_read = true;
    b->timed_out = true;
    rp_session_run(b->x->s);
}

struct rp_bconn *rp_pool_take(struct rp_worker *w, const struct rp_upstream_conf *u,
                              const struct rp_server_conf *srv)
{
    char key[RP_POOL_KEY];
    rp_pool_key(u, srv, key, sizeof(key));
    struct rp_pool *p = find_pool(w, key);
    if (!p || !p->idle)
        return NULL;
    struct rp_bconn *b = p->idle;
    pool_unlink(b);
    rp_timer_disarm(&w->loop, &b->timer);
    b->reused = true;
    b->eof = b->timed_out = false;
    return b;
}

/* A session granted by the server: kept for the next connection with the same key. */
static void keep_session(void *arg, SSL_SESSION *sess)
{
    struct rp_bconn *b = arg;
    struct rp_pool *p = b->closed || b->w->draining ? NULL : pool_for(b->w, b->key);
    if (!p) {
        SSL_SESSION_free(sess);
        return;
    }
    if (p->tls_session)
        SSL_SESSION_free(p->tls_session);
    p->tls_session = sess;
}

static const struct rp_tls_session_sink session_sink = {keep_session};

struct rp_bconn *rp_bconn_connect(struct rp_worker *w, const struct rp_upstream_conf *u,
                                  const struct rp_server_conf *srv, int *err)
{
    const struct rp_sockaddr *addr = &srv->addr;
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = -errno;
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bool connecting = false;
    if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0) {
        if (errno != EINPROGRESS) {
            *err = -errno;
            close(fd);
            return NULL;
        }
        connecting = true;
    }
    struct rp_bconn *b = calloc(1, sizeof(*b));
    if (!b) {
        *err = -ENOMEM;
        close(fd);
        return NULL;
    }
    b->io.fd = fd;
    b->io.cb = bconn_io;
    b->w = w;
    b->addr = *addr;
    b->connecting = connecting;
    b->can_write = !connecting;
    rp_pool_key(u, srv, b->key, sizeof(b->key));
    rp_timer_init(&b->timer, bconn_timeout);
    if (u->tls) {
        /* the handshake runs once connected (rp_bconn_handshake), before any request byte */
        struct rp_pool *p = pool_for(w, b->key);
        b->ssl = rp_tls_client_new(u, srv, fd, p ? p->tls_session : NULL, &session_sink, b);
        b->handshaking = true;
        if (!b->ssl) {
            *err = -ENOMEM;
            goto fail;
        }
    }
    if (rp_loop_add(&w->loop, &b->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
        *err = -errno;
        goto fail;
    }
    return b;
fail:
    rp_tls_free(b->ssl, false);
    close(fd);
    free(b);
    return NULL;
}

int rp_bconn_handshake(struct rp_bconn *b, char *why, size_t n)
{
    const char *reason = NULL;
    int r = rp_tls_handshake(b->ssl, tls_ready(b), &reason);
    if (r == 1) {
        b->handshaking = false;
        return 1;
    }
    if (r == 0)
        return 0;
    const char *verr = rp_tls_client_verify_error(b->ssl);
    if (verr)
        snprintf(why, n, "%s (%s)", reason, verr);
    else
        snprintf(why, n, "%s", reason);
    /* a session the server no longer takes must not be offered again */
    struct rp_pool *p = find_pool(b->w, b->key);
    if (p && p->tls_session) {
        SSL_SESSION_free(p->tls_session);
        p->tls_session = NULL;
    }
    return -1;
}

static void free_cb(struct rp_defer *d)
{
    free(container_of(d, struct rp_bconn, defer));
}

void rp_bconn_close(struct rp_bconn *b)
{
    if (b->h2s) {
        rp_h2b_release(b, NULL);
        return;
    }
    if (b->closed)
        return;
    b->closed = true;
    pool_unlink(b);
    rp_timer_disarm(&b->w->loop, &b->timer);
    rp_tls_free(b->ssl, !b->eof);
    b->ssl = NULL;
    close(b->io.fd);
    rp_buf_release(&b->in);
    rp_buf_release(&b->out);
    b->x = NULL;
    rp_defer(&b->w->loop, &b->defer, free_cb);
}

void rp_bconn_release(struct rp_bconn *b, const struct rp_upstream_conf *u, bool reusable)
{
    struct rp_worker *w = b->w;
    if (b->h2s) {
        rp_h2b_release(b, u); /* a stream: the connection under it stays for others */
        return;
    }
    b->x = NULL;
    /* rdhup: the backend's FIN already came with the response; its edge is spent */
    if (!reusable || b->eof || b->rdhup || rp_buf_len(&b->in) || rp_buf_len(&b->out) || !u ||
        u->keepalive == 0 || w->draining || b->handshaking || (b->ssl && SSL_pending(b->ssl) > 0)) {
        rp_bconn_close(b);
        return;
    }
    struct rp_pool *p = pool_for(w, b->key);
    if (!p || p->nidle >= u->keepalive) {
        rp_bconn_close(b);
        return;
    }
    rp_buf_release(&b->in);
    rp_buf_release(&b->out);
    b->can_read = false; /* the next readiness edge means the backend closed it */
    b->pool = p;
    b->pool_prev = NULL;
    b->pool_next = p->idle;
    if (p->idle)
        p->idle->pool_prev = b;
    p->idle = b;
    p->nidle++;
    rp_timer_arm(&w->loop, &b->timer, u->keepalive_timeout);
}

ssize_t rp_bconn_fill(struct rp_bconn *b, size_t max)
{
    if (b->h2s)
        return rp_h2b_fill(b, max);
    if (!b->can_read || b->eof)
        return b->eof ? -1 : 0;
    if (!rp_buf_reserve(&b->in, 1, max < RP_BUF_SIZE ? RP_BUF_SIZE : max))
        return 0;
    ssize_t n = b->ssl ? rp_tls_recv(b->ssl, &b->in, tls_ready(b))
                       : rp_sock_recv(b->io.fd, &b->in, &b->can_read, b->rdhup);
    if (n < 0) {
        b->eof = true;
        b->error = n == RP_SOCK_ERR;
        return -1;
    }
    return n;
}

bool rp_bconn_flush(struct rp_bconn *b, int *err)
{
    if (b->h2s)
        return rp_h2b_flush(b, err);
    if (b->ssl)
        return rp_tls_send(b->ssl, &b->out, tls_ready(b), err) > 0;
    return rp_sock_send(b->io.fd, &b->out, &b->can_write, err) > 0;
}

void rp_pool_close_all(struct rp_worker *w)
{
    rp_h2b_close_idle(w, w->exit);
    for (uint32_t i = 0; i < w->npools; i++) {
        while (w->pools[i].idle)
            rp_bconn_close(w->pools[i].idle);
        if (w->pools[i].tls_session)
            SSL_SESSION_free(w->pools[i].tls_session);
        w->pools[i].tls_session = NULL;
    }
}
