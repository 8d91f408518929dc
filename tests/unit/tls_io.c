/* TLS record I/O (src/tls/tls_io.c) over a non-blocking socket pair: a full handshake, records
 * both ways, and the edge-triggered rule that matters most: a handshake that finishes while the
 * read flag is down (run by a write event) must raise it, because OpenSSL has read the socket
 * on its own and may hold the client's first request. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/sock_io.h"
#include "test.h"
#include "tls/tls_io.h"

/* A server context with a throwaway self-signed P-256 certificate. */
static SSL_CTX *server_ctx(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *crt = X509_new();
    if (!key || !crt)
        return NULL;
    ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
    X509_gmtime_adj(X509_getm_notBefore(crt), 0);
    X509_gmtime_adj(X509_getm_notAfter(crt), 3600);
    X509_set_pubkey(crt, key);
    X509_NAME *name = X509_get_subject_name(crt);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"unit.test", -1, -1,
                               0);
    X509_set_issuer_name(crt, name);
    X509_sign(crt, key, EVP_sha256());
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx) {
        SSL_CTX_use_certificate(ctx, crt);
        SSL_CTX_use_PrivateKey(ctx, key);
        SSL_CTX_set_read_ahead(ctx, 1); /* as listeners do */
    }
    X509_free(crt);
    EVP_PKEY_free(key);
    return ctx;
}

struct pair {
    SSL_CTX *sctx, *cctx;
    SSL *srv, *cli;
    int fd[2];
};

static bool pair_open(struct pair *p)
{
    p->sctx = server_ctx();
    p->cctx = SSL_CTX_new(TLS_client_method());
    if (!p->sctx || !p->cctx || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fd) < 0)
        return false;
    p->srv = SSL_new(p->sctx);
    p->cli = SSL_new(p->cctx);
    SSL_set_fd(p->srv, p->fd[0]);
    SSL_set_fd(p->cli, p->fd[1]);
    SSL_set_accept_state(p->srv);
    SSL_set_connect_state(p->cli);
    SSL_set_verify(p->cli, SSL_VERIFY_NONE, NULL);
    return true;
}

static void pair_close(struct pair *p)
{
    rp_tls_free(p->srv, false);
    rp_tls_free(p->cli, false);
    SSL_CTX_free(p->sctx);
    SSL_CTX_free(p->cctx);
    close(p->fd[0]);
    close(p->fd[1]);
}

/* Run both sides until the client has finished its handshake; returns the server's last
 * rp_tls_handshake result (0: it still waits for the client's Finished). */
static int handshake_client_side(struct pair *p, struct rp_tls_ready r)
{
    const char *why = NULL;
    int srv = 0;
    for (int i = 0; i < 20 && SSL_do_handshake(p->cli) != 1; i++) {
        *r.can_read = *r.can_write = true;
        srv = rp_tls_handshake(p->srv, r, &why);
        CHECK(srv >= 0);
    }
    CHECK(SSL_is_init_finished(p->cli));
    return srv;
}

/* The client's request arrives with its last handshake flight; the server's last handshake
 * step runs with can_read down (a write event woke it). */
static void test_handshake_raises_read_flag(void)
{
    struct pair p;
    CHECK(pair_open(&p));
    bool can_read = true, can_write = true;
    struct rp_tls_ready r = {&can_read, &can_write};
    const char *why = NULL;
    CHECK_INT(handshake_client_side(&p, r), 0); /* the server waits for the client's Finished */
    static const char req[] = "GET / HTTP/1.1\r\nHost: unit.test\r\n\r\n";
    size_t wrote = 0;
    CHECK(SSL_write_ex(p.cli, req, sizeof(req) - 1, &wrote) == 1);
    can_read = false; /* cleared by the earlier WANT_READ; this run came from EPOLLOUT */
    can_write = true;
    CHECK_INT(rp_tls_handshake(p.srv, r, &why), 1);
    CHECK(can_read); /* else the session would wait for an edge the handshake consumed */
    struct rp_buf in = {0};
    CHECK(rp_buf_reserve(&in, 4096, 4096));
    CHECK_INT(rp_tls_recv(p.srv, &in, r), (long long)(sizeof(req) - 1));
    CHECK_MEM(rp_buf_rptr(&in), rp_buf_len(&in), req);
    rp_buf_release(&in);
    pair_close(&p);
}

/* Records both ways, then close_notify reads as EOF. */
static void test_send_recv_and_eof(void)
{
    struct pair p;
    CHECK(pair_open(&p));
    bool can_read = true, can_write = true;
    struct rp_tls_ready r = {&can_read, &can_write};
    const char *why = NULL;
    handshake_client_side(&p, r);
    can_read = can_write = true;
    CHECK_INT(rp_tls_handshake(p.srv, r, &why), 1);
    struct rp_buf out = {0};
    CHECK(rp_buf_reserve(&out, 64, 4096));
    rp_buf_put(&out, "hello", 5);
    int err = 0;
    CHECK_INT(rp_tls_send(p.srv, &out, r, &err), 5);
    CHECK_INT(err, 0);
    CHECK_INT(rp_buf_len(&out), 0);
    char got[16];
    size_t n = 0;
    CHECK(SSL_read_ex(p.cli, got, sizeof(got), &n) == 1);
    CHECK_MEM(got, n, "hello");
    /* nothing to read yet: the flag goes down, as edge-triggered epoll needs */
    struct rp_buf in = {0};
    CHECK(rp_buf_reserve(&in, 4096, 4096));
    can_read = true;
    CHECK_INT(rp_tls_recv(p.srv, &in, r), 0);
    CHECK(!can_read);
    SSL_shutdown(p.cli);
    can_read = true;
    CHECK_INT(rp_tls_recv(p.srv, &in, r), RP_SOCK_EOF);
    rp_buf_release(&in);
    rp_buf_release(&out);
    pair_close(&p);
}

int main(void)
{
    RUN(test_handshake_raises_read_flag);
    RUN(test_send_recv_and_eof);
    TEST_MAIN_END();
}
