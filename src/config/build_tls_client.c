/* TLS keys of the config: an upstream's `tls:` (backend TLS, its client SSL_CTX built here so
 * that a bad file is a config error) and a TLS listener's `client_auth:` (mTLS). File names are
 * resolved against the config file's directory and must be readable now. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/keywords.h"
#include "tls/tls_client.h"

/* A file key: resolved, and readable at load time (the error points at the value). */
static void file_key(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                     void *target)
{
    const char **field = (const char **)((char *)target + k->offset);
    const char *s;
    if (!rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY, &s))
        return;
    const char *path = s[0] == '/' ? s : rp_arena_printf(c->a, "%s/%s", c->dir, s);
    if (!path)
        return;
    FILE *f = fopen(path, "rb");
    if (!f) {
        rp_cfg_diag_at(c->d, v, "%s: cannot read \"%s\": %s", k->key, path, strerror(errno));
        return;
    }
    fclose(f);
    *field = path;
}

static void sni_key(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                    void *target)
{
    struct rp_tls_upstream_conf *t = target;
    const char *s;
    if (!rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY, &s))
        return;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= ' ' || ch == '/' || ch == ':' || ch >= 0x7f) {
            rp_cfg_diag_at(c->d, v, "sni: \"%s\" is not a valid server name", s);
            return;
        }
    }
    t->sni = s;
}

static const struct rp_cfg_key upstream_tls_keys[] = {
    {"sni", RP_CFG_T_CUSTOM, .handler = sni_key,
     .help = "server name sent and verified (default: host_header's host, or the server's name)"},
    {"verify", RP_CFG_T_BOOL, offsetof(struct rp_tls_upstream_conf, verify),
     .help = "verify the server's certificate chain and name (default true)"},
    {"ca", RP_CFG_T_CUSTOM, offsetof(struct rp_tls_upstream_conf, ca), .handler = file_key,
     .help = "PEM CA bundle to verify the server with (default: the system store)"},
    {"cert", RP_CFG_T_CUSTOM, offsetof(struct rp_tls_upstream_conf, cert), .handler = file_key,
     .help = "PEM client certificate chain presented to the server"},
    {"key", RP_CFG_T_CUSTOM, offsetof(struct rp_tls_upstream_conf, key), .handler = file_key,
     .help = "PEM private key of cert"},
};

static uint64_t fnv(uint64_t h, const char *s)
{
    for (const char *p = s ? s : "\x01"; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001b3ULL;
    }
    h ^= 0xff; /* field separator */
    return h * 0x100000001b3ULL;
}

/* A file by name and contents: after a reload with a new CA or certificate at the same path,
 * connections and sessions made under the old one are not reused. */
static uint64_t fnv_file(uint64_t h, const char *path)
{
    h = fnv(h, path);
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return h;
    unsigned char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        for (size_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 0x100000001b3ULL;
    fclose(f);
    return h;
}

void rp_cfg_upstream_tls(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                         const struct rp_cfg_node *v, void *target)
{
    struct rp_upstream_conf *u = target;
    bool on = true;
    if (v->kind == RP_CFG_SCALAR) { /* tls: true / false */
        if (!rp_cfg_get_bool(c, k->key, v, &on) || !on)
            return;
    } else if (v->kind != RP_CFG_MAP && v->kind != RP_CFG_NULL) {
        rp_cfg_want(c, k->key, v, RP_CFG_MAP, "true, false or a map of TLS settings");
        return;
    }
    struct rp_tls_upstream_conf *t = rp_arena_calloc(c->a, 1, sizeof(*t));
    if (!t)
        return;
    t->verify = true;
    t->where = rp_arena_printf(c->a, "%s:%d:%d", v->file, v->line, v->col);
    uint32_t before = rp_cfg_diag_count(c->d);
    if (v->kind != RP_CFG_SCALAR)
        rp_cfg_apply(c, upstream_tls_keys, RP_CFG_COUNT(upstream_tls_keys), "tls", v, t);
    if (!t->cert != !t->key) {
        rp_cfg_diag_at(c->d, v, "tls: cert and key go together; give both or neither");
        return;
    }
    if (rp_cfg_diag_count(c->d) != before)
        return; /* a file is missing: no context to build */
    char err[512];
    SSL_CTX *ctx = rp_tls_client_ctx_new(t, err, sizeof(err));
    if (!ctx) {
        rp_cfg_diag_at(c->d, v, "tls: %s", err);
        return;
    }
    if (rp_config_on_free(c->cfg, rp_tls_client_ctx_free, ctx) != 0) {
        SSL_CTX_free(ctx);
        rp_cfg_diag_at(c->d, v, "out of memory");
        return;
    }
    t->ctx = ctx;
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv(h, t->sni);
    h = fnv(h, t->verify ? "v" : "n");
    h = fnv_file(h, t->ca);
    h = fnv_file(h, t->cert);
    h = fnv_file(h, t->key);
    t->id = h;
    u->tls = t;
}

const char *rp_cfg_server_host(struct rp_cfg_ctx *c, const char *text)
{
    if (!text || text[0] == '[' || text[0] == ':')
        return NULL;
    const char *colon = strrchr(text, ':');
    size_t n = colon ? (size_t)(colon - text) : strlen(text);
    if (strspn(text, "0123456789.") >= n)
        return NULL; /* an IPv4 literal */
    return rp_arena_strndup(c->a, text, n);
}

/* ---- listener tls.client_auth ---- */

static void h_client_auth_mode(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                               const struct rp_cfg_node *v, void *target)
{
    static const char *const names[] = {"off", "optional", "required"};
    static const enum rp_client_auth modes[] = {RP_CLIENT_AUTH_OFF, RP_CLIENT_AUTH_OPTIONAL,
                                                RP_CLIENT_AUTH_REQUIRED};
    struct rp_tls_listener_conf *t = target;
    int i;
    if (v->kind == RP_CFG_SCALAR && !v->u.scalar.quoted && !strcmp(v->u.scalar.s, "false")) {
        t->client_auth.mode = RP_CLIENT_AUTH_OFF; /* YAML's unquoted off may arrive as false */
        return;
    }
    if (rp_cfg_get_enum(c, k->key, v, names, 3, &i))
        t->client_auth.mode = modes[i];
}

static void h_header_name(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                          const struct rp_cfg_node *v, void *target)
{
    const char **field = (const char **)((char *)target + k->offset);
    const char *s;
    if (!rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY, &s))
        return;
    if (!rp_cfg_is_token(s)) {
        rp_cfg_diag_at(c->d, v, "%s: \"%s\" is not a valid header name", k->key, s);
        return;
    }
    *field = s;
}

#define CA_OFF(f) offsetof(struct rp_tls_listener_conf, client_auth.f)
static const struct rp_cfg_key client_auth_keys[] = {
    {"mode", RP_CFG_T_CUSTOM, .handler = h_client_auth_mode,
     .help = "off, optional or required (default off)"},
    {"ca", RP_CFG_T_CUSTOM, CA_OFF(ca), .handler = file_key,
     .help = "PEM CA bundle that client certificates must chain to"},
    {"subject_header", RP_CFG_T_CUSTOM, CA_OFF(subject_header), .handler = h_header_name,
     .help = "request header carrying the verified subject (default X-Client-Cert-Subject)"},
    {"fingerprint_header", RP_CFG_T_CUSTOM, CA_OFF(fingerprint_header), .handler = h_header_name,
     .help = "request header carrying the SHA-256 fingerprint (default X-Client-Cert-Fingerprint)"},
};
#undef CA_OFF

void rp_cfg_tls_client_auth(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                            const struct rp_cfg_node *v, void *target)
{
    struct rp_tls_listener_conf *t = target;
    t->client_auth.subject_header = "X-Client-Cert-Subject";
    t->client_auth.fingerprint_header = "X-Client-Cert-Fingerprint";
    if (!rp_cfg_apply(c, client_auth_keys, RP_CFG_COUNT(client_auth_keys), "client_auth", v, t))
        return;
    if (t->client_auth.mode != RP_CLIENT_AUTH_OFF && !t->client_auth.ca && !rp_cfg_map_get(v, "ca"))
        rp_cfg_diag_at(c->d, v, "client_auth: mode %s needs a ca file to verify clients with",
                       t->client_auth.mode == RP_CLIENT_AUTH_REQUIRED ? "required" : "optional");
    if (!strcasecmp(t->client_auth.subject_header, t->client_auth.fingerprint_header))
        rp_cfg_diag_at(c->d, v, "client_auth: subject_header and fingerprint_header must differ");
}
