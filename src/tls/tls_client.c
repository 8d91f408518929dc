/* TLS to backends: the per-upstream client context (built while loading the config) and the
 * per-connection SSL objects (SNI, name or IP verification, ALPN, session resumption). */
#include "tls/tls_client.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static int sink_idx = -1;
static pthread_once_t sink_once = PTHREAD_ONCE_INIT;

static void sink_idx_init(void)
{
    sink_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The last queued OpenSSL error as "what: reason", then the queue is cleared. */
static void ssl_err(char *err, size_t n, const char *what, const char *file)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    snprintf(err, n, "%s \"%s\": %s", what, file, reason ? reason : "failed");
    ERR_clear_error();
}

/* Never prompt on the terminal for a key password (a reload would hang): encrypted keys fail. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

/* New sessions go to the connection's sink (TLS 1.3 tickets come after the handshake, so the
 * session cannot simply be taken once the handshake is done). */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
    const struct rp_tls_session_sink *sink = sink_idx >= 0 ? SSL_get_ex_data(ssl, sink_idx) : NULL;
    if (!sink || !sink->fn)
        return 0;
    sink->fn(SSL_get_app_data(ssl), sess);
    return 1; /* the sink holds the reference now */
}

SSL_CTX *rp_tls_client_ctx_new(const struct rp_tls_upstream_conf *t, char *err, size_t errlen)
{
    pthread_once(&sink_once, sink_idx_init);
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* rp_tls_send retries with a buffer that may have moved or grown */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(ctx, no_password);
    SSL_CTX_set_verify(ctx, t->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (t->ca) {
        if (SSL_CTX_load_verify_locations(ctx, t->ca, NULL) != 1) {
            ssl_err(err, errlen, "ca: cannot load", t->ca);
            goto fail;
        }
    } else if (t->verify && SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, errlen, "cannot load the system CA store");
        ERR_clear_error();
        goto fail;
    }
    if (t->cert) {
        if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
            ssl_err(err, errlen, "cert: cannot load", t->cert);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1 &&
            ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
            ssl_err(err, errlen, "key: cannot load", t->key);
            goto fail;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            snprintf(err, errlen, "key \"%s\" does not match the certificate \"%s\"", t->key,
                     t->cert);
            ERR_clear_error();
            goto fail;
        }
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void rp_tls_client_ctx_free(void *ctx)
{
    SSL_CTX_free(ctx);
}

static bool is_ip_literal(const char *s)
{
    unsigned char a[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* host[:port] or [v6][:port] into buf without the port and brackets. */
static const char *host_part(const char *authority, char *buf, size_t n)
{
    const char *end;
    if (authority[0] == '[') {
        authority++;
        end = strchr(authority, ']');
    } else {
        end = strchr(authority, ':');
    }
    size_t len = end ? (size_t)(end - authority) : strlen(authority);
    if (len == 0 || len >= n)
        return NULL;
    memcpy(buf, authority, len);
    buf[len] = '\0';
    return buf;
}

const char *rp_tls_client_server_name(const struct rp_upstream_conf *u,
                                      const struct rp_server_conf *srv, char *buf, size_t n)
{
    if (u->tls && u->tls->sni)
        return u->tls->sni;
    if (u->host_header)
        return host_part(u->host_header, buf, n);
    return srv->host;
}

/* The server's IP address as text, for certificates that name an address. */
static const char *addr_ip(const struct rp_server_conf *srv, char *buf, size_t n)
{
    return host_part(srv->addr.text, buf, n);
}

SSL *rp_tls_client_new(const struct rp_upstream_conf *u, const struct rp_server_conf *srv, int fd,
                       SSL_SESSION *sess, const struct rp_tls_session_sink *sink, void *arg)
{
    const struct rp_tls_upstream_conf *t = u->tls;
    ERR_clear_error();
    SSL *ssl = SSL_new(t->ctx);
    if (!ssl)
        goto fail;
    char nbuf[256], ipbuf[64];
    const char *name = rp_tls_client_server_name(u, srv, nbuf, sizeof(nbuf));
    bool ip = !name || is_ip_literal(name);
    if (SSL_set_fd(ssl, fd) != 1)
        goto fail;
    SSL_set_connect_state(ssl);
    /* RFC 6066 3: no IP literals in SNI */
    if (!ip && SSL_set_tlsext_host_name(ssl, name) != 1)
        goto fail;
    if (t->verify) {
        if (ip) {
            const char *addr = name ? name : addr_ip(srv, ipbuf, sizeof(ipbuf));
            if (!addr || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), addr) != 1)
                goto fail;
        } else {
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (SSL_set1_host(ssl, name) != 1)
                goto fail;
        }
    }
    static const unsigned char alpn_h1[] = "\x08http/1.1";
    static const unsigned char alpn_h2[] = "\x02h2\x08http/1.1";
    /* SSL_set_alpn_protos returns 0 on success */
    if (u->protocol == RP_UP_H2 ? SSL_set_alpn_protos(ssl, alpn_h2, sizeof(alpn_h2) - 1)
                                : SSL_set_alpn_protos(ssl, alpn_h1, sizeof(alpn_h1) - 1))
        goto fail;
    if (sess)
        SSL_set_session(ssl, sess); /* a refused or expired session means a full handshake */
    if (sink && sink_idx >= 0) {
        SSL_set_ex_data(ssl, sink_idx, (void *)sink);
        SSL_set_app_data(ssl, arg);
    }
    return ssl;
fail:
    ERR_clear_error();
    SSL_free(ssl);
    return NULL;
}

bool rp_tls_client_alpn_h2(SSL *ssl)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    return n == 2 && !memcmp(p, "h2", 2);
}

const char *rp_tls_client_verify_error(SSL *ssl)
{
    long r = SSL_get_verify_result(ssl);
    return r == X509_V_OK ? NULL : X509_verify_cert_error_string(r);
}
