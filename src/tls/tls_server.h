/* TLS termination on listeners: the per-listener set of server contexts (certificates, SNI,
 * ALPN, tickets, session cache, OCSP stapling), built when a config is loaded, and the
 * process-wide registry from which workers take the current set on accept. The registry lets
 * a SIGHUP reload or a changed certificate file replace the set without a restart. */
#ifndef RP_TLS_TLS_SERVER_H
#define RP_TLS_TLS_SERVER_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"

struct rp_tls_server;
struct rp_session;

/* Build the contexts of listener l (l->tls set): every certificate and key loaded and checked.
 * Returns a set with one reference, or NULL with a reason in err (which names the file) and
 * *bad_cert = the index of the certificate entry at fault (-1: a listener-wide setting).
 * Thread: any (the config loader, or the main thread when files change). */
struct rp_tls_server *rp_tls_server_new(const struct rp_listener_conf *l, char *err, size_t errlen,
                                        int *bad_cert);

void rp_tls_server_ref(struct rp_tls_server *t);
/* Drop a reference; the contexts go when the last set reference and last SSL are gone. */
void rp_tls_server_unref(struct rp_tls_server *t);

/* One line per certificate: its key type and the names it serves (for the startup block). */
void rp_tls_server_describe(const struct rp_tls_server *t, FILE *f);

/* A new server-side SSL on fd from the set's default context, in accept state; it keeps the set
 * alive until SSL_free. NULL when out of memory. Thread: any. */
SSL *rp_tls_server_ssl_new(struct rp_tls_server *t, int fd);

/* True when ALPN selected "h2" on ssl (after the handshake). */
bool rp_tls_alpn_is_h2(SSL *ssl);

/* ---- the registry (tls_registry.c) ---- */

/* Make cfg's TLS listeners current (cfg stays referenced by the registry while used). The first
 * call (start-up) fixes which addresses are TLS listeners. Thread: main. */
void rp_tls_registry_publish(struct rp_config *cfg);

/* A new SSL for a connection accepted on listener l, from its current set; NULL when l is not a
 * TLS listener or out of memory (*is_tls tells which). Thread: a worker. */
SSL *rp_tls_accept(const struct rp_listener_conf *l, int fd, bool *is_tls);

/* Rebuild the sets whose certificate or key files changed since they were built (at most one
 * attempt per change; a broken file is logged and the old set stays). Thread: main, every ~2 s. */
void rp_tls_registry_watch(void);

/* Drop every set and config reference (at exit). Thread: main, workers stopped. */
void rp_tls_registry_clear(void);

#endif
