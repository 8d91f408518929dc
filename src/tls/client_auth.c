/* mTLS on listeners: verification settings for a listener context and the identity (subject,
 * SHA-256 fingerprint) of a client whose certificate was verified. */
#include "tls/client_auth.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

/* SHA-256 over the mode and the CA file's bytes: the session id context of mTLS contexts. */
static int sid_for(enum rp_client_auth mode, const char *ca, unsigned char out[32])
{
    FILE *f = fopen(ca, "rb");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = -1;
    if (!f || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto done;
    unsigned char m = (unsigned char)mode;
    EVP_DigestUpdate(md, "rampart-mtls", 12);
    EVP_DigestUpdate(md, &m, 1);
    unsigned char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(md, buf, n);
    unsigned int len = 0;
    if (!ferror(f) && EVP_DigestFinal_ex(md, out, &len) == 1 && len == 32)
        rc = 0;
done:
    if (f)
        fclose(f);
    EVP_MD_CTX_free(md);
    return rc;
}

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
    /* Resumed sessions keep the peer (or its absence) of their first handshake, and ticket keys
     * are process-wide: a session from a listener without client certificates, or from before
     * a reload changed the CA or the mode, must not resume here. OpenSSL resumes only sessions
     * with the same id context, so it names these settings (the CA by its contents). */
    unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
    if (sid_for(mode, ca, sid) != 0) {
        snprintf(err, errlen, "client_auth: cannot read ca \"%s\"", ca);
        return -1;
    }
    SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid));
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
