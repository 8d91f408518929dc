/* TLS to backends: one client SSL_CTX per upstream with `tls:` (built at config load, owned by
 * the snapshot), and per connection an SSL with SNI, name verification and ALPN. Sessions are
 * handed to the caller for resumption on the next connection to the same server. */
#ifndef RP_TLS_TLS_CLIENT_H
#define RP_TLS_TLS_CLIENT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* Build the client context for t: TLS 1.2+, the CA (t->ca, else the system store), the client
 * certificate and key (checked to match). Returns NULL with a reason in err. Thread: any (config
 * loading). */
SSL_CTX *rp_tls_client_ctx_new(const struct rp_tls_upstream_conf *t, char *err, size_t errlen);

/* SSL_CTX_free for a snapshot cleanup hook. */
void rp_tls_client_ctx_free(void *ctx);

/* The name sent as SNI and verified for server srv of u: tls.sni, else the host of host_header,
 * else the server's host name; an IP literal or NULL when there is none (then the certificate
 * must name the server's IP address). Points into the snapshot or into buf. */
const char *rp_tls_client_server_name(const struct rp_upstream_conf *u,
                                      const struct rp_server_conf *srv, char *buf, size_t n);

/* Called with each new session the server grants (TLS 1.3 tickets arrive after the handshake);
 * the callee takes the reference. */
struct rp_tls_session_sink {
    void (*fn)(void *arg, SSL_SESSION *sess);
};

/* A client SSL on fd (connected or connecting) for server srv of u, in connect state with SNI,
 * verification and ALPN set; sess (may be NULL) is offered for resumption. sink->fn(arg, ...)
 * receives new sessions. NULL when out of memory. Thread: the worker's. */
SSL *rp_tls_client_new(const struct rp_upstream_conf *u, const struct rp_server_conf *srv, int fd,
                       SSL_SESSION *sess, const struct rp_tls_session_sink *sink, void *arg);

/* After the handshake: true when the server chose "h2" by ALPN. */
bool rp_tls_client_alpn_h2(SSL *ssl);

/* After a failed handshake: the certificate verification error of ssl, as text, or NULL when
 * the failure was not one. */
const char *rp_tls_client_verify_error(SSL *ssl);

#endif
