/* TLS record I/O for edge-triggered epoll: handshake, read, write and close of one OpenSSL
 * connection, with the same conventions as src/net/sock_io.h. Used by client sessions and by
 * backend connections alike; contexts (certificates, SNI, tickets) live elsewhere in src/tls/. */
#ifndef RP_TLS_TLS_IO_H
#define RP_TLS_TLS_IO_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <sys/types.h>

#include "core/buf.h"

/* Readiness of the socket under the TLS connection. OpenSSL may need to write while reading
 * (and the reverse), so both flags travel together. */
struct rp_tls_ready {
    bool *can_read, *can_write;
};

/* Advance the handshake. 1: done; 0: waiting for the socket (a flag was cleared); -1: failed
 * (the reason is in *why: a short static text for the log). */
int rp_tls_handshake(SSL *ssl, struct rp_tls_ready r, const char **why);

/* Decrypt into the free room of b. Returns bytes (> 0), 0 when nothing now (a flag cleared),
 * RP_SOCK_EOF (close_notify or TCP FIN) or RP_SOCK_ERR. Unlike plain sockets, a short read does
 * not mean the socket is drained (records), so can_read is cleared only on WANT_READ. */
ssize_t rp_tls_recv(SSL *ssl, struct rp_buf *b, struct rp_tls_ready r);

/* Encrypt and send what b holds while the socket takes it; as rp_sock_send. */
ssize_t rp_tls_send(SSL *ssl, struct rp_buf *b, struct rp_tls_ready r, int *err);

/* Send close_notify once (best effort, never blocks) and free ssl. NULL is fine. */
void rp_tls_free(SSL *ssl, bool notify);

#endif
