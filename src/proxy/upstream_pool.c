/* Backend connections: non-blocking connect, buffered I/O, and keep-alive pools per worker and
 * server address (bounded count, idle timeout). A pooled connection that becomes readable has
 * been closed by the backend (or sent garbage) and is dropped. */
#include "proxy/upstream_pool.h"

#include <errno.h>
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
#include "tls/tls_io.h"

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

static struct rp_tls_ready tls_ready(struct rp_bconn *b)
{
    return (struct rp_tls_ready){&b->can_read, &b->can_write};
}

static struct rp_pool *pool_for(struct rp_worker *w, const struct rp_sockaddr *addr)
{
    for (uint32_t i = 0; i < w->npools; i++)
        if (!strcmp(w->pools[i].key, addr->text))
            return &w->pools[i];
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
    snprintf(p->key, sizeof(p->key), "%s", addr->text);
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

struct rp_bconn *rp_pool_take(struct rp_worker *w, const struct rp_sockaddr *addr)
{
    struct rp_pool *p = NULL;
    for (uint32_t i = 0; i < w->npools; i++)
        if (!strcmp(w->pools[i].key, addr->text))
            p = &w->pools[i];
    if (!p || !p->idle)
        return NULL;
    struct rp_bconn *b = p->idle;
    pool_unlink(b);
    rp_timer_disarm(&w->loop, &b->timer);
    b->reused = true;
    b->eof = b->timed_out = false;
    return b;
}

struct rp_bconn *rp_bconn_connect(struct rp_worker *w, const struct rp_sockaddr *addr, int *err)
{
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
    rp_timer_init(&b->timer, bconn_timeout);
    if (rp_loop_add(&w->loop, &b->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
        *err = -errno;
        close(fd);
        free(b);
        return NULL;
    }
    return b;
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
        u->keepalive == 0 || w->draining) {
        rp_bconn_close(b);
        return;
    }
    struct rp_pool *p = pool_for(w, &b->addr);
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
    for (uint32_t i = 0; i < w->npools; i++)
        while (w->pools[i].idle)
            rp_bconn_close(w->pools[i].idle);
}
