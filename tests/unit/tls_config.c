/* Unit tests for the TLS config keys: upstream `tls:` (shorthand, map, file errors with their
 * positions, a key that does not match its certificate), server host names, the pool-relevant
 * settings hash, and the listener `client_auth:` table with its checks. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/keywords.h"
#include "tls/client_auth.h"
#include "tls/tls_client.h"
#include "test.h"

static char dir[] = "/tmp/rp_tls_unitXXXXXX";
static char cert_path[256], key_path[256], key2_path[256];

static EVP_PKEY *write_key(const char *path)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    FILE *f = fopen(path, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    return k;
}

static void make_files(void)
{
    CHECK(mkdtemp(dir) != NULL);
    snprintf(cert_path, sizeof(cert_path), "%s/c.pem", dir);
    snprintf(key_path, sizeof(key_path), "%s/k.pem", dir);
    snprintf(key2_path, sizeof(key2_path), "%s/k2.pem", dir);
    EVP_PKEY *k = write_key(key_path);
    EVP_PKEY_free(write_key(key2_path));
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"unit", -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_sign(x, k, EVP_sha256());
    FILE *f = fopen(cert_path, "w");
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
}

static struct rp_config *load(const char *upstream_extra, struct rp_cfg_errors *errs)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "listen: [\":8080\"]\n"
             "upstreams:\n"
             "  app:\n"
             "    servers: [\"127.0.0.1:9001\", \"localhost:9002\"]\n"
             "%s"
             "routes: [{proxy: app}]\n",
             upstream_extra);
    return rp_config_load_buffer("t.yaml", yaml, strlen(yaml), errs);
}

/* Loads and expects exactly one error starting with want. */
static void expect_error(const char *extra, const char *want)
{
    struct rp_cfg_errors errs = {0};
    struct rp_config *c = load(extra, &errs);
    CHECK(c == NULL);
    CHECK(errs.n >= 1);
    if (errs.n >= 1 && strncmp(errs.msgs[0], want, strlen(want)) != 0) {
        fprintf(stderr, "got \"%s\", wanted \"%s...\"\n", errs.msgs[0], want);
        CHECK(0);
    }
    rp_config_unref(c);
    rp_cfg_errors_free(&errs);
}

static void test_shorthand(void)
{
    struct rp_cfg_errors errs = {0};
    struct rp_config *c = load("    tls: true\n", &errs);
    CHECK(c != NULL);
    if (!c)
        return;
    const struct rp_upstream_conf *u = &c->upstreams[0];
    CHECK(u->tls != NULL && u->tls->verify && u->tls->ctx != NULL);
    CHECK(u->tls && !strcmp(u->tls->where, "t.yaml:5:10"));
    CHECK(u->servers[0].host == NULL);
    CHECK(u->servers[1].host && !strcmp(u->servers[1].host, "localhost"));
    char buf[64];
    CHECK(rp_tls_client_server_name(u, &u->servers[0], buf, sizeof(buf)) == NULL);
    CHECK(!strcmp(rp_tls_client_server_name(u, &u->servers[1], buf, sizeof(buf)), "localhost"));
    rp_config_unref(c);
    c = load("    tls: false\n", &errs);
    CHECK(c && !c->upstreams[0].tls);
    rp_config_unref(c);
    CHECK_INT(errs.n, 0);
}

static void test_map(void)
{
    char extra[1024];
    snprintf(extra, sizeof(extra),
             "    host_header: \"api.internal:8443\"\n"
             "    tls: {verify: false, ca: %s, cert: %s, key: %s}\n",
             cert_path, cert_path, key_path);
    struct rp_cfg_errors errs = {0};
    struct rp_config *c = load(extra, &errs);
    for (uint32_t i = 0; i < errs.n; i++)
        fprintf(stderr, "unexpected: %s\n", errs.msgs[i]);
    CHECK(c != NULL);
    if (!c)
        return;
    const struct rp_upstream_conf *u = &c->upstreams[0];
    CHECK(u->tls && !u->tls->verify && u->tls->ctx && !strcmp(u->tls->cert, cert_path));
    char buf[64];
    CHECK(!strcmp(rp_tls_client_server_name(u, &u->servers[0], buf, sizeof(buf)), "api.internal"));
    uint64_t id = u->tls->id;
    rp_config_unref(c);

    snprintf(extra, sizeof(extra), "    tls: {sni: backend.example, ca: %s}\n", cert_path);
    c = load(extra, &errs);
    CHECK(c && c->upstreams[0].tls && c->upstreams[0].tls->id != id);
    if (c)
        CHECK(!strcmp(rp_tls_client_server_name(&c->upstreams[0], &c->upstreams[0].servers[1], buf,
                                                sizeof(buf)),
                      "backend.example"));
    rp_config_unref(c);
    CHECK_INT(errs.n, 0);
}

static void test_errors(void)
{
    expect_error("    tls: {ca: /nonexistent/ca.pem}\n",
                 "t.yaml:5:15: ca: cannot read \"/nonexistent/ca.pem\"");
    expect_error("    tls: maybe\n", "t.yaml:5:10: tls: expected true or false");
    expect_error("    tls: {verfy: false}\n", "t.yaml:5:11: unknown key \"verfy\" in tls; did you");
    char extra[1024];
    snprintf(extra, sizeof(extra), "    tls: {cert: %s}\n", cert_path);
    expect_error(extra, "t.yaml:5:10: tls: cert and key go together");
    snprintf(extra, sizeof(extra), "    tls:\n      cert: %s\n      key: %s\n", cert_path,
             key2_path);
    expect_error(extra, "t.yaml:6:7: tls: key \"");
    snprintf(extra, sizeof(extra), "    tls: {ca: %s}\n", key_path); /* not a certificate */
    expect_error(extra, "t.yaml:5:10: tls: ca: cannot load");
    expect_error("    tls: {sni: \"a b\"}\n", "t.yaml:5:16: sni: \"a b\" is not a valid");
}

/* client_auth is wired into the listener's tls table by the TLS listener code; here through a
 * table of its own. */
static const struct rp_cfg_key tls_keys[] = {
    {"client_auth", RP_CFG_T_CUSTOM, .handler = rp_cfg_tls_client_auth, .help = "mTLS"},
};

static int client_auth(const char *yaml, struct rp_tls_listener_conf *t, struct rp_cfg_errors *e)
{
    struct rp_arena a, scratch;
    rp_arena_init(&a, 4096);
    rp_arena_init(&scratch, 4096);
    struct rp_cfg_diags d = {0};
    struct rp_config cfg = {0};
    struct rp_cfg_ctx c = {.a = &a, .d = &d, .cfg = &cfg, .file = "t.yaml", .dir = "/"};
    struct rp_cfg_node *root = rp_cfg_parse_yaml("t.yaml", yaml, strlen(yaml), &scratch, &d);
    if (root)
        rp_cfg_apply(&c, tls_keys, 1, "tls", root, t);
    int n = (int)rp_cfg_diag_count(&d);
    rp_cfg_diags_flush(&d, e);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    char err[256];
    if (n == 0 && rp_tls_client_auth_setup(ctx, t, err, sizeof(err)) != 0) {
        fprintf(stderr, "setup: %s\n", err);
        n = -1;
    }
    if (n == 0 && t->client_auth.mode == RP_CLIENT_AUTH_REQUIRED)
        CHECK(SSL_CTX_get_verify_mode(ctx) == (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT));
    SSL_CTX_free(ctx);
    rp_arena_reset(&scratch);
    rp_arena_reset(&a); /* the strings in t are gone: callers look at the mode only */
    return n;
}

static void test_client_auth(void)
{
    char yaml[512];
    struct rp_cfg_errors errs = {0};
    struct rp_tls_listener_conf t = {0};
    snprintf(yaml, sizeof(yaml), "client_auth: {mode: required, ca: %s}\n", cert_path);
    CHECK_INT(client_auth(yaml, &t, &errs), 0);
    CHECK_INT(t.client_auth.mode, RP_CLIENT_AUTH_REQUIRED);
    memset(&t, 0, sizeof(t));
    snprintf(yaml, sizeof(yaml),
             "client_auth: {mode: optional, ca: %s, subject_header: X-S, fingerprint_header: "
             "X-F}\n",
             cert_path);
    CHECK_INT(client_auth(yaml, &t, &errs), 0);
    CHECK_INT(t.client_auth.mode, RP_CLIENT_AUTH_OPTIONAL);
    CHECK_INT(errs.n, 0);
    memset(&t, 0, sizeof(t));
    CHECK_INT(client_auth("client_auth: {mode: required}\n", &t, &errs), 1);
    CHECK(errs.n == 1 && strstr(errs.msgs[0], "t.yaml:1:14: client_auth: mode required needs"));
    rp_cfg_errors_free(&errs);
    memset(&t, 0, sizeof(t));
    CHECK_INT(client_auth("client_auth: {mode: sometimes}\n", &t, &errs), 1);
    CHECK(errs.n == 1 && strstr(errs.msgs[0], "t.yaml:1:21: mode: expected one of off"));
    rp_cfg_errors_free(&errs);
    memset(&t, 0, sizeof(t));
    CHECK_INT(client_auth("client_auth: {subject_header: \"X S\"}\n", &t, &errs), 1);
    rp_cfg_errors_free(&errs);
    memset(&t, 0, sizeof(t));
    CHECK_INT(client_auth("client_auth: {mode: off}\n", &t, &errs), 0);
    CHECK_INT(t.client_auth.mode, RP_CLIENT_AUTH_OFF);
    rp_cfg_errors_free(&errs);
}

int main(void)
{
    make_files();
    RUN(test_shorthand);
    RUN(test_map);
    RUN(test_errors);
    RUN(test_client_auth);
    unlink(cert_path);
    unlink(key_path);
    unlink(key2_path);
    rmdir(dir);
    TEST_MAIN_END();
}
