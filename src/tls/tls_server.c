/* Building a listener's TLS contexts from its loaded certificates (tls_cert.c): one SSL_CTX per
 * distinct group of certificates so that an RSA and an ECDSA certificate for the same name sit
 * side by side (OpenSSL picks the one the client supports), SNI, the default profile, ALPN, the
 * session cache and the callbacks. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "tls/client_auth.h"
#include "tls/tls_server_int.h"

#define DEFAULT_CIPHERS                                                                            \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define DEFAULT_GROUPS "X25519:P-256:P-384"
#define MAX_CERTS 64 /* masks are 64 bits; the config rejects more */

/* Each SSL holds a reference on its set, so the callbacks' argument outlives the handshake even
 * when a reload or a file change replaced the set meanwhile. */
static int ssl_set_idx = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static void ssl_set_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                         void *argp)
{
    if (ptr)
        rp_tls_server_unref(ptr);
}

static void idx_init(void)
{
    ssl_set_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, ssl_set_free);
}

/* ---- callbacks ---- */

static struct rp_tls_server *set_of(SSL *ssl)
{
    return SSL_get_ex_data(ssl, ssl_set_idx);
}

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
    struct rp_tls_server *t = set_of(ssl);
    const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!t || !host)
        return SSL_TLSEXT_ERR_OK;
    SSL_CTX *ctx = rp_tls_sni_find(t->sni, t->nsni, host);
    if (ctx && ctx != SSL_get_SSL_CTX(ssl))
        SSL_set_SSL_CTX(ssl, ctx);
    return SSL_TLSEXT_ERR_OK; /* an unknown name gets the default certificate */
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    struct rp_tls_server *t = set_of(ssl);
    bool h2 = t && t->http2;
    /* our preference order: h2 first when offered, then http/1.1 */
    static const unsigned char h2_name[] = "\x02h2", h1_name[] = "\x08http/1.1";
    for (int pass = h2 ? 0 : 1; pass < 2; pass++) {
        const unsigned char *want = pass == 0 ? h2_name : h1_name;
        for (unsigned int i = 0; i < inlen;) {
            unsigned int len = in[i];
            if (i + 1 + len > inlen)
                break;
            if (len == want[0] && !memcmp(in + i + 1, want + 1, len)) {
                *out = in + i + 1;
                *outlen = (unsigned char)len;
                return SSL_TLSEXT_ERR_OK;
            }
            i += 1 + len;
        }
    }
    return SSL_TLSEXT_ERR_NOACK; /* no common protocol: go on without ALPN (HTTP/1.1) */
}

static int status_cb(SSL *ssl, void *arg)
{
    struct rp_tls_server *t = set_of(ssl);
    X509 *x = SSL_get_certificate(ssl);
    if (!t || !x)
        return SSL_TLSEXT_ERR_NOACK;
    for (uint32_t i = 0; i < t->ncerts; i++)
        if (t->certs[i].ocsp && X509_cmp(t->certs[i].leaf, x) == 0)
            return rp_tls_ocsp_staple(t->certs[i].ocsp, ssl) ? SSL_TLSEXT_ERR_OK
                                                             : SSL_TLSEXT_ERR_NOACK;
    return SSL_TLSEXT_ERR_NOACK;
}

bool rp_tls_alpn_is_h2(SSL *ssl)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    return n == 2 && p[0] == 'h' && p[1] == '2';
}

/* ---- contexts ---- */

static SSL_CTX *ctx_new(const struct rp_tls_listener_conf *tc, char *err, size_t n)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, tc->min_version ? tc->min_version : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, tc->max_version ? tc->max_version : TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_NO_RENEGOTIATION |
                                 (tc->session_tickets ? 0 : SSL_OP_NO_TICKET));
    /* rp_tls_send may retry with a longer, moved buffer; idle connections keep no buffers */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* read whole socket contents at once instead of a record header then its body */
    SSL_CTX_set_read_ahead(ctx, 1);
    const char *what = NULL;
    if (SSL_CTX_set_cipher_list(ctx, tc->ciphers ? tc->ciphers : DEFAULT_CIPHERS) != 1)
        what = "ciphers";
    else if (tc->ciphersuites && SSL_CTX_set_ciphersuites(ctx, tc->ciphersuites) != 1)
        what = "ciphersuites";
    else if (SSL_CTX_set1_groups_list(ctx, tc->curves ? tc->curves : DEFAULT_GROUPS) != 1)
        what = "curves";
    if (what) {
        snprintf(err, n, "%s: not accepted by OpenSSL (%s)", what, rp_tls_ssl_reason());
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* the same id context everywhere: a session may resume after SNI switched contexts */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"rampart", 7);
    if (tc->session_cache) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, (long)tc->session_cache);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, rp_tls_ticket_cb);
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
    if (rp_tls_client_auth_setup(ctx, tc, err, n) != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Which certificates serve name: first's, then per other key type the first one (in file
 * order) naming it exactly, else the first covering it with a wildcard. */
static uint64_t group_for(const struct rp_tls_server *t, const char *name, uint32_t first)
{
    uint64_t mask = UINT64_C(1) << first;
    int types[MAX_CERTS];
    uint32_t ntypes = 0;
    types[ntypes++] = t->certs[first].key_type;
    for (int pass = 0; name && pass < 2; pass++) {
        for (uint32_t i = 0; i < t->ncerts; i++) {
            const struct rp_tls_cert *c = &t->certs[i];
            bool covers = false;
            for (uint32_t j = 0; !covers && j < c->nnames; j++)
                covers =
                    (c->names[j][0] == '*') == (pass == 1) && rp_tls_name_match(c->names[j], name);
            bool taken = false;
            for (uint32_t k = 0; k < ntypes; k++)
                taken |= types[k] == c->key_type;
            if (!covers || taken)
                continue;
            types[ntypes++] = c->key_type;
            mask |= UINT64_C(1) << i;
        }
    }
    return mask;
}

/* The context holding exactly the certificates of mask (made on first use). */
static SSL_CTX *ctx_for(struct rp_tls_server *t, const struct rp_tls_listener_conf *tc,
                        uint64_t mask, char *err, size_t n, int *bad)
{
    for (uint32_t i = 0; i < t->nctxs; i++)
        if (t->masks[i] == mask)
            return t->ctxs[i];
    SSL_CTX *ctx = ctx_new(tc, err, n);
    if (!ctx)
        return NULL;
    for (uint32_t i = 0; i < t->ncerts; i++) {
        if (!((mask >> i) & 1))
            continue;
        struct rp_tls_cert *c = &t->certs[i];
        if (SSL_CTX_use_cert_and_key(ctx, c->leaf, c->key, c->chain, 1) != 1) {
            snprintf(err, n, "%s: OpenSSL refused the certificate (%s)", tc->certs[i].cert,
                     rp_tls_ssl_reason());
            *bad = (int)i;
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    t->ctxs[t->nctxs] = ctx;
    t->masks[t->nctxs++] = mask;
    return ctx;
}

static bool build_contexts(struct rp_tls_server *t, const struct rp_tls_listener_conf *tc,
                           char *err, size_t n, int *bad)
{
    uint32_t total = 0;
    for (uint32_t i = 0; i < t->ncerts; i++)
        total += t->certs[i].nnames;
    t->ctxs = calloc(total + 1, sizeof(*t->ctxs));
    t->masks = calloc(total + 1, sizeof(*t->masks));
    t->sni = calloc(total + 1, sizeof(*t->sni));
    if (!t->ctxs || !t->masks || !t->sni) {
        snprintf(err, n, "out of memory");
        return false;
    }
    const struct rp_tls_cert *c0 = &t->certs[0];
    if (!ctx_for(t, tc, group_for(t, c0->nnames ? c0->names[0] : NULL, 0), err, n, bad))
        return false;
    for (uint32_t i = 0; i < t->ncerts; i++) {
        for (uint32_t j = 0; j < t->certs[i].nnames; j++) {
            const char *name = t->certs[i].names[j];
            bool seen = false;
            for (uint32_t k = 0; k < t->nsni && !seen; k++)
                seen = !strcmp(t->sni[k].name, name);
            if (seen)
                continue; /* an earlier certificate serves this name */
            SSL_CTX *ctx = ctx_for(t, tc, group_for(t, name, i), err, n, bad);
            if (!ctx)
                return false;
            t->sni[t->nsni++] = (struct rp_tls_sni_entry){name, ctx};
        }
    }
    return true;
}

struct rp_tls_server *rp_tls_server_new(const struct rp_listener_conf *l, char *err, size_t errlen,
                                        int *bad_cert)
{
    const struct rp_tls_listener_conf *tc = l->tls;
    pthread_once(&idx_once, idx_init);
    *bad_cert = -1;
    if (ssl_set_idx < 0 || !tc || tc->ncerts == 0 || tc->ncerts > MAX_CERTS) {
        snprintf(err, errlen, "tls: between 1 and %d certificates are needed", MAX_CERTS);
        return NULL;
    }
    struct rp_tls_server *t = calloc(1, sizeof(*t));
    if (!t || !(t->certs = calloc(tc->ncerts, sizeof(*t->certs))) ||
        !(t->files = calloc(2 * tc->ncerts, sizeof(*t->files))) ||
        !(t->addr = strdup(l->addr.text))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    atomic_init(&t->refs, 1);
    t->http2 = l->http2;
    for (uint32_t i = 0; i < tc->ncerts; i++) {
        const struct rp_tls_cert_conf *cc = &tc->certs[i];
        /* stamps first: a file replaced while being read is seen as changed again */
        rp_tls_stamp_take(&t->files[t->nfiles++], cc->cert);
        rp_tls_stamp_take(&t->files[t->nfiles++], cc->key);
        t->ncerts = i + 1;
        if (!rp_tls_cert_load(cc, &t->certs[i], err, errlen)) {
            *bad_cert = (int)i;
            goto fail;
        }
    }
    if (!build_contexts(t, tc, err, errlen, bad_cert))
        goto fail;
    return t;
fail:
    rp_tls_server_unref(t);
    return NULL;
}

void rp_tls_server_ref(struct rp_tls_server *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void rp_tls_server_unref(struct rp_tls_server *t)
{
    if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (uint32_t i = 0; i < t->nctxs; i++)
        SSL_CTX_free(t->ctxs[i]);
    for (uint32_t i = 0; t->certs && i < t->ncerts; i++)
        rp_tls_cert_free(&t->certs[i]);
    free(t->ctxs);
    free(t->masks);
    free(t->sni);
    free(t->certs);
    free(t->files);
    free(t->addr);
    free(t);
}

SSL *rp_tls_server_ssl_new(struct rp_tls_server *t, int fd)
{
    SSL *ssl = SSL_new(t->ctxs[0]);
    if (!ssl)
        return NULL;
    rp_tls_server_ref(t);
    if (SSL_set_ex_data(ssl, ssl_set_idx, t) != 1) {
        rp_tls_server_unref(t);
        SSL_free(ssl);
        return NULL;
    }
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

static const char *key_type_name(int type)
{
    switch (type) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        return "RSA";
    case EVP_PKEY_EC:
        return "ECDSA";
    case EVP_PKEY_ED25519:
        return "Ed25519";
    case EVP_PKEY_ED448:
        return "Ed448";
    default:
        return "key";
    }
}

void rp_tls_server_describe(const struct rp_tls_server *t, FILE *f)
{
    for (uint32_t i = 0; i < t->ncerts; i++) {
        const struct rp_tls_cert *c = &t->certs[i];
        fprintf(f, "  tls cert %s%s:", key_type_name(c->key_type), i == 0 ? " (default)" : "");
        for (uint32_t j = 0; j < c->nnames; j++)
            fprintf(f, "%s %s", j ? "," : "", c->names[j]);
        if (c->nnames == 0)
            fputs(" (no DNS names)", f);
        if (c->ocsp)
            fputs("; OCSP stapled", f);
        fputc('\n', f);
    }
}
