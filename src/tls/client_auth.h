/* Client certificates on TLS listeners (mTLS): the verification settings of a listener's
 * context and the identity of a verified client, for the headers sent to backends. */
#ifndef RP_TLS_CLIENT_AUTH_H
#define RP_TLS_CLIENT_AUTH_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* Apply t->client_auth to a listener context: off leaves the context alone; optional asks for a
 * certificate; required refuses a handshake without one. In both, a certificate that does not
 * chain to client_auth.ca fails the handshake. The CA's names are sent in the request.
 * Returns 0, or -1 with a reason in err. Thread: any (config loading). */
int rp_tls_client_auth_setup(SSL_CTX *ctx, const struct rp_tls_listener_conf *t, char *err,
                             size_t errlen);

/* The verified client certificate of ssl: its subject (RFC 2253, controls escaped) into
 * subject[0..sn) and its SHA-256 fingerprint (64 lowercase hex digits) into fp[0..fn). False,
 * with nothing written, when the client sent no certificate or it was not verified. */
bool rp_tls_peer_identity(SSL *ssl, char *subject, size_t sn, char *fp_sha256_hex, size_t fn);

#endif
