/* mTLS on listeners: verification settings for a listener context and the identity (subject,
 * SHA-256 fingerprint) of a client whose certificate was verified. */
#include "tls/client_auth.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

int rp_tls_client_auth_setup(SSL_CTX *ctx, const struct rp_tls_listener_conf *t, char *err,
                             size_t errlen)
{
    enum rp_client_auth mode = t->client_auth.mode;
    if (mode == RP_CLIENT_AUTH_OFF)
        return 0;
    const char *ca = t->client_auth.ca;
    if (!ca) {
        snprintf(err, errlen, "client_auth: a ca file is needed");
        return -1;
    }
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        unsigned long e = ERR_peek_last_error();
        const char *r = e ? ERR_reason_error_string(e) : NULL;
        snprintf(err, errlen, "client_auth: cannot load ca \"%s\": %s", ca, r ? r : "failed");
        ERR_clear_error();
        return -1;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
    if (!names) {
        snprintf(err, errlen, "client_auth: no certificate in ca \"%s\"", ca);
        ERR_clear_error();
        return -1;
    }
    SSL_CTX_set_client_CA_list(ctx, names); /* takes names */
    int flags = SSL_VERIFY_PEER;
    if (mode == RP_CLIENT_AUTH_REQUIRED)
        flags |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, flags, NULL);
    SSL_CTX_set_verify_depth(ctx, 8);
    /* resumed sessions keep the verified peer, but OpenSSL refuses to resume one without a
     * session id context: the same one as the listener code's (tls_server.c), so sessions
     * still resume after SNI switched contexts */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"rampart", 7);
    return 0;
}

bool rp_tls_peer_identity(SSL *ssl, char *subject, size_t sn, char *fp_sha256_hex, size_t fn)
{
    if (!ssl || sn == 0 || fn < 65)
        return false;
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
        return false;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
        ERR_clear_error();
        return false;
    }
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return false;
    /* RFC 2253 with ESC_CTRL and ESC_MSB: controls and non-ASCII bytes come out as \XX */
    int n = X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char *p = NULL;
    long len = BIO_get_mem_data(bio, &p);
    if (n < 0 || len < 0) {
        BIO_free(bio);
        ERR_clear_error();
        return false;
    }
    size_t k = (size_t)len < sn - 1 ? (size_t)len : sn - 1;
    for (size_t i = 0; i < k; i++) {
        unsigned char ch = (unsigned char)p[i];
        subject[i] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch; /* a header value, never CR/LF */
    }
    subject[k] = '\0';
    BIO_free(bio);
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        fp_sha256_hex[2 * i] = hex[md[i] >> 4];
        fp_sha256_hex[2 * i + 1] = hex[md[i] & 15];
    }
    fp_sha256_hex[64] = '\0';
    return true;
}
