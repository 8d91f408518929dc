/* Client sessions: socket I/O, request-head reading, keep-alive and pipelining, timeouts.
 * The exchange that runs between a head and the end of its response lives in exchange.c. */
#include "proxy/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "h2/h2_server.h"
#include "http/h1_parse.h"
#include "net/sock_io.h"
#include "proxy/exchange_run.h"
#include "tls/tls_io.h"
#include "tls/tls_server.h"

static void session_io(struct rp_io *io, uint32_t events);

static struct rp_tls_ready tls_ready(struct rp_session *s)
{
    return (struct rp_tls_ready){&s->can_read, &s->can_write};
}
static void session_timeout(struct rp_timer *t);
static void session_close(struct rp_session *s);

static void set_peer(struct rp_session *s, const struct sockaddr_storage *peer)
{
    if (peer->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)peer;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], s->peer_ip, sizeof(s->peer_ip));
        else
            inet_ntop(AF_INET6, &a->sin6_addr, s->peer_ip, sizeof(s->peer_ip));
        s->peer_port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)peer;
        inet_ntop(AF_INET, &a->sin_addr, s->peer_ip, sizeof(s->peer_ip));
        s->peer_port = ntohs(a->sin_port);
    }
}

void rp_session_accept(struct rp_worker *w, int fd, const struct rp_listener_conf *l,
                       const struct sockaddr_storage *peer)
{
    struct rp_session *s = calloc(1, sizeof(*s));
    if (!s) {
        close(fd);
        return;
    }
    s->io.fd = fd;
    s->io.cb = session_io;
    s->w = w;
    s->listener = l;
    s->state = RP_SS_IDLE;
    s->can_read = s->can_write = true;
    set_peer(s, peer);
    if (l->tls) {
        bool is_tls;
        s->ssl = rp_tls_accept(l, fd, &is_tls);
        if (is_tls && !s->ssl) {
            free(s);
            close(fd);
            return;
        }
        if (s->ssl)
            s->state = RP_SS_HANDSHAKE;
    }
    rp_timer_init(&s->timer, session_timeout);
    s->next = w->sessions;
    if (w->sessions)
        w->sessions->prev = s;
    w->sessions = s;
    w->nsessions++;
    if (rp_loop_add(&w->loop, &s->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
        session_close(s);
        return;
    }
    rp_session_run(s);
}

static void session_io(struct rp_io *io, uint32_t events)
{
    struct rp_session *s = (struct rp_session *)io;
    if (s->closed)
        return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        s->can_read = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        s->rdhup = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        s->can_write = true;
    rp_session_run(s);
}

static void kick_cb(struct rp_defer *d)
{
    rp_session_run(container_of(d, struct rp_session, defer));
}

void rp_session_kick(struct rp_session *s)
{
    if (!s->closed)
        rp_defer(&s->w->loop, &s->defer, kick_cb);
}

ssize_t rp_session_fill(struct rp_session *s)
{
    if (s->h2s)
        return rp_h2_stream_fill(s);
    if (!s->can_read || s->eof)
        return 0;
    const struct rp_config *cfg = s->w->slot->cfg;
    size_t max = RP_BUF_SIZE;
    if (s->state == RP_SS_IDLE || s->state == RP_SS_HEAD)
        max = cfg->limits.max_request_line + cfg->limits.max_header_size + 4;
    if (max < RP_BUF_SIZE)
        max = RP_BUF_SIZE;
    if (!rp_buf_reserve(&s->in, 1, max))
        return 0;
    ssize_t n = s->ssl ? rp_tls_recv(s->ssl, &s->in, tls_ready(s))
                       : rp_sock_recv(s->io.fd, &s->in, &s->can_read, s->rdhup);
    if (n > 0)
        s->bytes_read += (uint64_t)n;
    else if (n < 0)
        s->eof = true;
    return n < 0 ? -1 : n;
}

bool rp_session_flush(struct rp_session *s)
{
    if (s->h2s)
        return rp_h2_stream_flush(s);
    /* Nagle would hold back the tail of a response written in several sends (a streamed body,
     * a file after its head, the next keep-alive response); a connection that closes after
     * this one write does not need the extra system call */
    if (!s->nodelay && s->state != RP_SS_CLOSING && rp_buf_len(&s->out)) {
        int one = 1;
        setsockopt(s->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        s->nodelay = true;
    }
    int err;
    ssize_t n = s->ssl ? rp_tls_send(s->ssl, &s->out, tls_ready(s), &err)
                       : rp_sock_send(s->io.fd, &s->out, &s->can_write, &err);
    s->bytes_written += (uint64_t)n;
    if (err)
        session_close(s); /* the client went away */
    return n > 0;
}

bool rp_session_out_room(struct rp_session *s, size_t want)
{
    if (!s->out.data && !rp_buf_acquire(&s->out))
        return false;
    if (rp_buf_room(&s->out) >= want)
        return true;
    return rp_buf_reserve(&s->out, want, s->out.cap > RP_BUF_SIZE ? s->out.cap : RP_BUF_SIZE);
}

bool rp_session_out_piece(struct rp_session *s, size_t want)
{
    if (!s->out.data && !rp_buf_acquire(&s->out))
        return false;
    if (rp_buf_room(&s->out) >= want)
        return true;
    /* bounded: a new exchange starts only while less than half a buffer waits (session_run) */
    return rp_buf_reserve(&s->out, want, rp_buf_len(&s->out) + want);
}

/* Whether the listener takes HTTP/2 now: s->listener is the start-up entry (sockets live as
 * long as the process), so a reload's `http2` is read from the worker's current config. */
/* Parse what we have of a head; start an exchange when it is complete. */
static bool step_head(struct rp_session *s)
{
    const struct rp_config *cfg = s->w->slot->cfg;
    if (rp_buf_len(&s->in)) {
        if (s->state == RP_SS_IDLE) {
            s->state = RP_SS_HEAD;
            s->head_started = s->w->loop.now;
            s->head_hint = 0;
        }
        static _Thread_local struct rp_header hdrs[1024];
        struct rp_msg msg = {.hdrs = hdrs, .cap_hdrs = 1024};
        struct rp_h1_limits lim = {
            .max_request_line = cfg->limits.max_request_line,
            .max_head = cfg->limits.max_request_line + cfg->limits.max_header_size,
            .max_headers = cfg->limits.max_headers < 1024 ? cfg->limits.max_headers : 1024,
        };
        /* h2c with prior knowledge: the client preface instead of a first request */
        int pre = s->nrequests == 0 && rp_listener_in(cfg, s->listener)->http2
                      ? rp_h2_preface_match(rp_buf_rptr(&s->in), rp_buf_len(&s->in))
                      : -1;
        if (pre > 0) {
            if (!rp_h2_server_start(s))
                session_close(s);
            return true;
        }
        ssize_t r = pre == 0 ? 0
                             : rp_h1_parse_request(rp_buf_rptr(&s->in), rp_buf_len(&s->in), &msg,
                                                   &lim, &s->head_hint);
        /* the parser bounds line + fields; the field block alone must fit max_header_size */
        if (r > 0 && msg.nhdrs &&
            (size_t)r - (size_t)(msg.hdrs[0].name.p - rp_buf_rptr(&s->in)) >
                cfg->limits.max_header_size + 2)
            r = -431;
        if (r > 0) {
            rp_exchange_begin(s, &msg, (size_t)r);
            return true;
        }
        if (r < 0) {
            rp_exchange_begin_error(s, (int)-r);
            return true;
        }
    }
    ssize_t n = rp_session_fill(s);
    if (n > 0)
        return true;
    if (n < 0) {
        if (rp_buf_len(&s->in) == 0 || s->state == RP_SS_IDLE)
            session_close(s);
        else
            rp_exchange_begin_error(s, 400); /* the client closed inside a head */
        return true;
    }
    if (rp_buf_len(&s->in) == 0 && s->in.data && !s->can_read)
        rp_buf_release(&s->in); /* idle connections hold no buffer */
    return false;
}

/* TLS listeners: finish the handshake before reading requests. When ALPN chose "h2" the
 * connection is HTTP/2: the TLS set offers "h2" only where its listener config allows it, and
 * that set follows reloads (s->listener does not), so ALPN is what the client was promised. */
static bool step_handshake(struct rp_session *s)
{
    const char *why = NULL;
    int r = rp_tls_handshake(s->ssl, tls_ready(s), &why);
    if (r < 0) {
        rp_log_debug("client %s: TLS handshake failed: %s", s->peer_ip, why);
        session_close(s);
        return true;
    }
    if (r == 0)
        return false;
    s->state = RP_SS_IDLE;
    /* the context set that answered the handshake offered h2 only if its listener allows it
     * (and it follows reloads, while s->listener is the start-up snapshot's) */
    if (rp_tls_alpn_is_h2(s->ssl) && !rp_h2_server_start(s))
        session_close(s);
    return true;
}

static uint64_t timer_for_state(struct rp_session *s)
{
    const struct rp_config *cfg = s->w->slot->cfg;
    switch (s->state) {
    case RP_SS_HANDSHAKE:
        return cfg->timeouts.header;
    case RP_SS_IDLE:
        if (rp_buf_len(&s->out))
            return cfg->timeouts.send; /* a slow reader of the last answer */
        return s->nrequests ? cfg->timeouts.keepalive : cfg->timeouts.header;
    case RP_SS_HEAD: {
        uint64_t end = s->head_started + cfg->timeouts.header;
        return end > s->w->loop.now ? end - s->w->loop.now : 1;
    }
    case RP_SS_EXCHANGE:
        return rp_exchange_client_timeout(s->x);
    case RP_SS_TUNNEL:
        return rp_exchange_client_timeout(s->x);
    case RP_SS_CLOSING:
        return cfg->timeouts.send;
    case RP_SS_LINGER:
        return s->linger_until > s->w->loop.now ? s->linger_until - s->w->loop.now : 1;
    }
    return 0;
}

/* Like nginx's lingering close: after an answer that left request bytes unread, shut the write
 * side and read and drop what still arrives for a short while, so that the client reads the
 * answer instead of a reset caused by closing with unread data. */
#define LINGER_MS 5000

static void linger_discard(struct rp_session *s)
{
    static _Thread_local char sink[RP_BUF_SIZE];
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(s->io.fd, sink, sizeof(sink), 0);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return; /* the timer set in start_linger still runs */
        session_close(s);
        return;
    }
    rp_session_kick(s);
}

static void start_linger(struct rp_session *s)
{
    if (s->ssl) {
        rp_tls_free(s->ssl, true); /* close_notify goes out before the write side shuts */
        s->ssl = NULL;
    }
    shutdown(s->io.fd, SHUT_WR);
    rp_buf_release(&s->in);
    rp_buf_release(&s->out);
    s->state = RP_SS_LINGER;
    s->linger_until = s->w->loop.now + LINGER_MS;
    rp_timer_arm(&s->w->loop, &s->timer, LINGER_MS);
    linger_discard(s);
}

void rp_session_run(struct rp_session *s)
{
    if (s->closed)
        return;
    int rounds = 0;
    for (; rounds < 64; rounds++) {
        if (s->h2) {
            rp_h2_conn_run(s); /* the connection became HTTP/2: src/h2/ runs it from now on */
            return;
        }
        bool progress = false;
        switch (s->state) {
        case RP_SS_HANDSHAKE:
            progress = step_handshake(s);
            break;
        case RP_SS_IDLE:
        case RP_SS_HEAD:
            if (s->w->draining && s->state == RP_SS_IDLE && rp_buf_len(&s->in) == 0) {
                rp_session_drain(s, false); /* closes, or flushes the last answer first */
                if (s->closed)
                    return;
                break;
            }
            /* pipelined requests wait while earlier answers are still unsent: a client that
             * does not read cannot make rampart buffer without bound */
            if (rp_buf_len(&s->out) < RP_BUF_SIZE / 2)
                progress = step_head(s);
            break;
        case RP_SS_EXCHANGE:
        case RP_SS_TUNNEL:
            progress = rp_exchange_step(s->x);
            break;
        case RP_SS_CLOSING:
            break;
        case RP_SS_LINGER:
            linger_discard(s);
            return;
        }
        if (s->closed)
            return;
        if (rp_buf_len(&s->out) && s->can_write)
            progress |= rp_session_flush(s);
        if (s->closed)
            return;
        if (s->state == RP_SS_CLOSING && rp_buf_len(&s->out) == 0) {
            if (s->linger && !s->eof && !s->h2s)
                start_linger(s);
            else
                session_close(s);
            return;
        }
        if (!progress)
            break;
    }
    if (rounds == 64)
        rp_session_kick(s); /* let other connections run, continue next iteration */
    if (rp_buf_len(&s->out) == 0 && s->out.data)
        rp_buf_release(&s->out);
    uint64_t t = timer_for_state(s);
    if (t)
        rp_timer_arm(&s->w->loop, &s->timer, t);
    else
        rp_timer_disarm(&s->w->loop, &s->timer);
}

static void session_timeout(struct rp_timer *t)
{
    struct rp_session *s = container_of(t, struct rp_session, timer);
    if (s->h2) {
        rp_h2_conn_timeout(s);
        return;
    }
    switch (s->state) {
    case RP_SS_HEAD:
        rp_exchange_begin_error(s, 408);
        rp_session_run(s);
        return;
    case RP_SS_EXCHANGE:
        if (rp_exchange_on_client_timeout(s->x)) {
            rp_session_run(s);
            return;
        }
        break;
    default:
        break;
    }
    session_close(s);
}

void rp_session_end_linger(struct rp_session *s)
{
    if (s->closed)
        return;
    if (s->eof || s->h2s) {
        session_close(s);
        return;
    }
    if (s->h2)
        rp_h2_conn_close(s); /* its GOAWAY is written; the streams are done */
    start_linger(s);
}

void rp_session_drain(struct rp_session *s, bool force)
{
    s->want_close = true;
    if (s->h2 && !force) {
        rp_h2_conn_drain(s); /* GOAWAY; open streams finish */
        return;
    }
    if (force) {
        session_close(s);
    } else if (s->state == RP_SS_IDLE && rp_buf_len(&s->in) == 0) {
        if (rp_buf_len(&s->out) == 0) {
            session_close(s);
        } else {
            s->state = RP_SS_CLOSING; /* the last answer is still being sent: finish it */
            rp_session_kick(s);
        }
    }
}

static void free_cb(struct rp_defer *d)
{
    free(container_of(d, struct rp_session, defer));
}

static void session_close(struct rp_session *s)
{
    if (s->closed)
        return;
    if (s->h2s) {
        rp_h2_stream_close(s); /* a virtual session: no socket, not in w->sessions */
        return;
    }
    s->closed = true;
    if (s->x)
        rp_exchange_abort(s->x);
    rp_timer_disarm(&s->w->loop, &s->timer);
    if (s->h2)
        rp_h2_conn_close(s);
    rp_tls_free(s->ssl, !s->eof);
    s->ssl = NULL;
    close(s->io.fd);
    rp_buf_release(&s->in);
    rp_buf_release(&s->out);
    struct rp_worker *w = s->w;
    if (s->prev)
        s->prev->next = s->next;
    else
        w->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    w->nsessions--;
    /* freed after this loop iteration: events already fetched may still name it */
    rp_defer_cancel(&w->loop, &s->defer);
    rp_defer(&w->loop, &s->defer, free_cb);
    rp_worker_session_closed(w);
}

void rp_session_init_stream(struct rp_session *vs, struct rp_session *conn)
{
    vs->io.fd = -1;
    vs->conn = conn;
    vs->w = conn->w;
    vs->listener = conn->listener;
    memcpy(vs->peer_ip, conn->peer_ip, sizeof(vs->peer_ip));
    vs->peer_port = conn->peer_port;
    vs->state = RP_SS_IDLE;
    vs->can_read = vs->can_write = true;
    vs->want_close = true; /* one exchange, then the stream ends */
    rp_timer_init(&vs->timer, session_timeout);
}
