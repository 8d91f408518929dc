/* Internals shared by the listener TLS files (tls_server.c, tls_ocsp.c, tls_tickets.c,
 * tls_registry.c); not for other subsystems. */
#ifndef RP_TLS_TLS_SERVER_INT_H
#define RP_TLS_TLS_SERVER_INT_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "tls/tls_server.h"
#include "tls/tls_sni.h"

/* What a file looked like when it was read: a change of any of these means "read it again". */
struct rp_tls_stamp {
    const char *path;
    struct timespec mtime;
    off_t size;
    ino_t ino;
    bool missing;
};

void rp_tls_stamp_take(struct rp_tls_stamp *s, const char *path);
bool rp_tls_stamp_same(const struct rp_tls_stamp *a, const struct rp_tls_stamp *b);

struct rp_tls_ocsp;

/* One loaded certificate entry. */
struct rp_tls_cert {
    X509 *leaf;
    STACK_OF(X509) * chain;
    EVP_PKEY *key;
    int key_type; /* EVP_PKEY_RSA, EVP_PKEY_EC, ... */
    char **names; /* lowercase SNI names */
    uint32_t nnames;
    struct rp_tls_ocsp *ocsp; /* NULL: no stapling */
};

/* Load and check entry cc into c (tls_cert.c). False with a reason naming the file in err; c
 * may then hold part of the entry: free it with rp_tls_cert_free either way. */
bool rp_tls_cert_load(const struct rp_tls_cert_conf *cc, struct rp_tls_cert *c, char *err,
                      size_t n);
void rp_tls_cert_free(struct rp_tls_cert *c);

/* The reason of OpenSSL's last queued error, for messages. */
const char *rp_tls_ssl_reason(void);

struct rp_tls_server {
    atomic_int refs;
    bool http2;
    char *addr; /* the listener, for logs */
    struct rp_tls_cert *certs;
    uint32_t ncerts;
    SSL_CTX **ctxs;  /* ctxs[0] is the default */
    uint64_t *masks; /* per context: which certificates it holds (bit i = certs[i]) */
    uint32_t nctxs;
    struct rp_tls_sni_entry *sni;
    uint32_t nsni;
    struct rp_tls_stamp *files; /* certificate and key files as read */
    uint32_t nfiles;
};

/* OCSP stapling (tls_ocsp.c). new: reads path now (a bad file is logged, nothing stapled). */
struct rp_tls_ocsp *rp_tls_ocsp_new(const char *path);
void rp_tls_ocsp_free(struct rp_tls_ocsp *o);
/* Attach the current response to ssl (re-reading the file when it changed, checked at most
 * every few seconds). False when there is none to staple. Thread: any. */
bool rp_tls_ocsp_staple(struct rp_tls_ocsp *o, SSL *ssl);

/* Session tickets (tls_tickets.c): process-wide keys, the current one encrypts, the previous
 * one still decrypts for one period. */
int rp_tls_ticket_cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *ctx,
                     EVP_MAC_CTX *hctx, int enc);
/* Rotation period in ms (the shortest ticket_rotate of the listeners); 0 keeps the current. */
void rp_tls_tickets_period(uint64_t ms);

#endif
