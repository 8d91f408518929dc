/* One active health check (see health_int.h): a non-blocking connect to the server's current
 * address, the TLS handshake of the upstream's client context (SNI and verification as for
 * traffic), then for HTTP checks one request and the response read until a verdict. The whole
 * probe runs under one timeout; every outcome is reported once. */
#include "lb/health_int.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "lb/server_state.h"
#include "net/sock_io.h"
#include "tls/tls_client.h"
#include "tls/tls_io.h"

static struct rp_tls_ready ready(struct rp_hc_check *c)
{
    return (struct rp_tls_ready){&c->can_read, &c->can_write};
}

static void cleanup(struct rp_hc_check *c)
{
    rp_timer_disarm(c->loop, &c->deadline);
    if (c->ssl) {
        /* close_notify only after a clean handshake: polite to servers that log its absence */
        rp_tls_free(c->ssl, c->phase != RP_HCP_HANDSHAKE);
        c->ssl = NULL;
    }
    if (c->io.fd >= 0) {
        close(c->io.fd); /* also leaves the epoll set */
        c->io.fd = -1;
    }
    rp_buf_release(&c->in);
    rp_buf_release(&c->out);
    rp_hc_resp_free(&c->resp);
    c->phase = RP_HCP_IDLE;
}

static void finish(struct rp_hc_check *c, bool ok, const char *why)
{
    cleanup(c);
    struct rp_sockaddr now;
    if (c->srv->resolve && (!rp_server_addr(c->srv, &now) || strcmp(now.text, c->addr.text))) {
        /* the resolver moved the slot meanwhile (and reset its state): this says nothing
         * about the new address */
        if (c->done)
            c->done(c);
        return;
    }
    if (!ok)
        rp_log_debug("health check of upstream %s server %s failed: %s", c->u->name, c->addr.text,
                     why);
    rp_server_check_result(c->u, c->srv, ok, why);
    if (c->done)
        c->done(c);
}

static void fail_errno(struct rp_hc_check *c, const char *what, int err)
{
    char why[160];
    if (err == ECONNREFUSED)
        snprintf(why, sizeof(why), "%s refused", what);
    else if (err == ECONNRESET)
        snprintf(why, sizeof(why), "%s reset", what);
    else
        snprintf(why, sizeof(why), "%s: %s", what, strerror(err));
    finish(c, false, why);
}

static const char *phase_name(enum rp_hc_phase p)
{
    switch (p) {
    case RP_HCP_CONNECT:
        return "connecting";
    case RP_HCP_HANDSHAKE:
        return "in the TLS handshake";
    case RP_HCP_SEND:
        return "sending the request";
    default:
        return "waiting for the response";
    }
}

static void on_deadline(struct rp_timer *t)
{
    struct rp_hc_check *c = container_of(t, struct rp_hc_check, deadline);
    char why[96];
    snprintf(why, sizeof(why), "timed out %s", phase_name(c->phase));
    finish(c, false, why);
}

/* The connection is up (TCP, and TLS when the upstream uses it): a tcp check has passed, an
 * http check sends its request. Returns false when the probe finished. */
static bool connected(struct rp_hc_check *c)
{
    const struct rp_health_conf *h = c->u->health;
    if (h->type == RP_HC_TCP) {
        finish(c, true, NULL);
        return false;
    }
    char req[2048];
    size_t n = rp_hc_request(c->u, c->srv, &c->addr, req, sizeof(req));
    if (!n) {
        finish(c, false, "cannot build the request (method, path or host)");
        return false;
    }
    if (!rp_buf_reserve(&c->out, n, n < RP_BUF_SIZE ? RP_BUF_SIZE : n)) {
        finish(c, false, "out of memory");
        return false;
    }
    rp_buf_put(&c->out, req, n);
    rp_hc_resp_init(&c->resp, h);
    c->phase = RP_HCP_SEND;
    return true;
}

static bool step_connect(struct rp_hc_check *c)
{
    if (!c->can_write)
        return false;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        fail_errno(c, "connect", err);
        return false;
    }
    if (c->u->tls) {
        /* the upstream's context, SNI and verification rules; no session reuse, so each check
         * proves a full handshake still works */
        c->ssl = rp_tls_client_new(c->u, c->srv, c->io.fd, NULL, NULL, NULL);
        static const unsigned char alpn_h1[] = "\x08http/1.1";
        if (!c->ssl || SSL_set_alpn_protos(c->ssl, alpn_h1, sizeof(alpn_h1) - 1) != 0) {
            finish(c, false, "cannot set up TLS");
            return false;
        }
        c->phase = RP_HCP_HANDSHAKE;
        return true;
    }
    return connected(c);
}

static bool step_handshake(struct rp_hc_check *c)
{
    const char *reason = NULL;
    int r = rp_tls_handshake(c->ssl, ready(c), &reason);
    if (r == 0)
        return false;
    if (r < 0) {
        char why[200];
        const char *verr = rp_tls_client_verify_error(c->ssl);
        if (verr)
            snprintf(why, sizeof(why), "TLS handshake: %s (%s)", reason, verr);
        else
            snprintf(why, sizeof(why), "TLS handshake: %s", reason);
        finish(c, false, why);
        return false;
    }
    return connected(c);
}

static bool step_send(struct rp_hc_check *c)
{
    int err = 0;
    if (c->ssl)
        rp_tls_send(c->ssl, &c->out, ready(c), &err);
    else
        rp_sock_send(c->io.fd, &c->out, &c->can_write, &err);
    if (err) {
        fail_errno(c, "sending the request", -err);
        return false;
    }
    if (rp_buf_len(&c->out))
        return false; /* wait for room */
    rp_buf_release(&c->out);
    c->phase = RP_HCP_RECV;
    return true;
}

static bool step_recv(struct rp_hc_check *c)
{
    if (!c->can_read)
        return false;
    if (!rp_buf_reserve(&c->in, 1, RP_HC_HEAD_MAX + RP_BUF_SIZE)) {
        finish(c, false, "response head too large");
        return false;
    }
    ssize_t n = c->ssl ? rp_tls_recv(c->ssl, &c->in, ready(c))
                       : rp_sock_recv(c->io.fd, &c->in, &c->can_read, c->rdhup);
    if (n == 0)
        return false;
    if (n == RP_SOCK_ERR && !rp_buf_len(&c->in) && !c->resp.status) {
        finish(c, false, "connection reset before a response");
        return false;
    }
    bool eof = n < 0;
    size_t used = 0;
    enum rp_hc_verdict v =
        rp_hc_resp_feed(&c->resp, rp_buf_rptr(&c->in), rp_buf_len(&c->in), &used, eof);
    rp_buf_consume(&c->in, used);
    if (v == RP_HC_MORE && !eof)
        return true;
    if (v == RP_HC_PASS) {
        finish(c, true, NULL);
    } else {
        char why[sizeof(c->resp.why)];
        memcpy(why, c->resp.why, sizeof(why));
        finish(c, false, v == RP_HC_FAIL ? why : "connection closed in the response");
    }
    return false;
}

/* Run the probe as far as the socket allows. */
static void advance(struct rp_hc_check *c)
{
    for (bool go = true; go;) {
        switch (c->phase) {
        case RP_HCP_CONNECT:
            go = step_connect(c);
            break;
        case RP_HCP_HANDSHAKE:
            go = step_handshake(c);
            break;
        case RP_HCP_SEND:
            go = step_send(c);
            break;
        case RP_HCP_RECV:
            go = step_recv(c);
            break;
        default:
            go = false;
        }
    }
}

static void on_io(struct rp_io *io, uint32_t events)
{
    struct rp_hc_check *c = container_of(io, struct rp_hc_check, io);
    if (c->phase == RP_HCP_IDLE)
        return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->can_read = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->rdhup = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        c->can_write = true;
    advance(c);
}

bool rp_hc_probe_start(struct rp_hc_check *c)
{
    if (!rp_server_addr(c->srv, &c->addr))
        return false;
    c->io.cb = on_io;
    c->can_read = c->can_write = c->rdhup = false;
    c->started_at = c->loop->now;
    c->phase = RP_HCP_CONNECT;
    rp_timer_init(&c->deadline, on_deadline);
    rp_timer_arm(c->loop, &c->deadline, c->u->health->timeout ? c->u->health->timeout : 2000);
    int fd = socket(c->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    c->io.fd = fd;
    if (fd < 0) {
        fail_errno(c, "socket", errno);
        return true;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (const struct sockaddr *)&c->addr.ss, c->addr.len) < 0) {
        if (errno != EINPROGRESS) {
            fail_errno(c, "connect", errno);
            return true;
        }
    } else {
        c->can_write = true;
    }
    int rc = rp_loop_add(c->loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
    if (rc < 0) {
        fail_errno(c, "epoll", -rc);
        return true;
    }
    advance(c);
    return true;
}

void rp_hc_probe_abort(struct rp_hc_check *c)
{
    if (c->phase != RP_HCP_IDLE)
        cleanup(c);
}
