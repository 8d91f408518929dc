/* TLS record I/O for edge-triggered epoll; see tls_io.h. */
#include "tls/tls_io.h"

#include <errno.h>
#include <openssl/err.h>

#include "net/sock_io.h"

/* Map an SSL_get_error result to readiness: 0 when the socket must wake us, -1 otherwise. */
static int want(SSL *ssl, int rc, struct rp_tls_ready r)
{
    switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        *r.can_read = false;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        *r.can_write = false;
        return 0;
    default:
        return -1;
    }
}

int rp_tls_handshake(SSL *ssl, struct rp_tls_ready r, const char **why)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl);
    if (rc == 1) {
        /* OpenSSL reads the socket whatever our flag says: a handshake finished on a write
         * edge may have taken the bytes (and the edge) of the first request with its last
         * record, or left them in its read-ahead buffer; either way, reading must go on
         * without waiting for an edge that will not come */
        *r.can_read = true;
        return 1;
    }
    if (want(ssl, rc, r) == 0)
        return 0;
    unsigned long e = ERR_peek_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    *why = reason ? reason : "connection closed during the handshake";
    ERR_clear_error();
    return -1;
}

ssize_t rp_tls_recv(SSL *ssl, struct rp_buf *b, struct rp_tls_ready r)
{
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_read_ex(ssl, rp_buf_wptr(b), rp_buf_room(b), &n);
    if (rc == 1) {
        b->tail += n;
        return (ssize_t)n;
    }
    int e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_ZERO_RETURN)
        return RP_SOCK_EOF;
    if (want(ssl, rc, r) == 0)
        return 0;
    ERR_clear_error();
    /* a FIN without close_notify: treated as EOF, the framing layer decides if it truncated */
    return e == SSL_ERROR_SYSCALL && errno == 0 ? RP_SOCK_EOF : RP_SOCK_ERR;
}

ssize_t rp_tls_send(SSL *ssl, struct rp_buf *b, struct rp_tls_ready r, int *err)
{
    ssize_t total = 0;
    *err = 0;
    while (rp_buf_len(b) && *r.can_write) {
        ERR_clear_error();
        size_t n = 0;
        int rc = SSL_write_ex(ssl, rp_buf_rptr(b), rp_buf_len(b), &n);
        if (rc == 1) {
            rp_buf_consume(b, n);
            total += (ssize_t)n;
            continue;
        }
        if (want(ssl, rc, r) == 0)
            break;
        ERR_clear_error();
        *err = errno ? -errno : -EPIPE;
        break;
    }
    return total;
}

void rp_tls_free(SSL *ssl, bool notify)
{
    if (!ssl)
        return;
    if (notify && SSL_is_init_finished(ssl)) {
        ERR_clear_error();
        SSL_shutdown(ssl); /* non-blocking socket: one attempt, the answer is not awaited */
    }
    ERR_clear_error();
    SSL_free(ssl);
}
