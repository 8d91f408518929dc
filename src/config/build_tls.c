/* Listener TLS and HTTPS keys: `tls:` (certificates, versions, ciphers, tickets, session cache,
 * client_auth), `http2`, `redirect_https`, `hsts`, and building the listener's TLS contexts
 * once its section is read, so that a bad certificate is a config error at its entry. */
#include <stddef.h>
#include <string.h>

#include "config/keywords.h"
#include "tls/tls_server.h"
#include "tls/tls_sni.h"

/* A path relative to the config file's directory. */
static void h_path(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                   void *target)
{
    const char **field = (const char **)((char *)target + k->offset);
    const char *s;
    if (!rp_cfg_get_str(c, k->key, v, RP_CFG_NONEMPTY, &s))
        return;
    *field = s[0] == '/' ? s : rp_arena_printf(c->a, "%s/%s", c->dir, s);
}

static void h_names(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                    void *target)
{
    struct rp_tls_cert_conf *cc = target;
    if (!rp_cfg_want(c, k->key, v, RP_CFG_SEQ, "a list of server names"))
        return;
    if (v->u.seq.n == 0) {
        rp_cfg_diag_at(c->d, v, "names: at least one name is needed (or leave it out)");
        return;
    }
    cc->names = rp_arena_calloc(c->a, v->u.seq.n, sizeof(*cc->names));
    if (!cc->names)
        return;
    for (uint32_t i = 0; i < v->u.seq.n; i++) {
        const char *s;
        if (!rp_cfg_get_str(c, "names", v->u.seq.items[i], RP_CFG_NONEMPTY, &s))
            continue;
        if (!rp_tls_name_valid(s)) {
            rp_cfg_diag_at(c->d, v->u.seq.items[i],
                           "names: \"%s\" is not a host name or \"*.domain\" wildcard", s);
            continue;
        }
        cc->names[cc->nnames++] = s;
    }
}

#define CERT_PATH(name, text)                                                                      \
    {                                                                                              \
#name, RP_CFG_T_CUSTOM, offsetof(struct rp_tls_cert_conf, name), .handler = h_path,        \
                                                                         .help = text              \
    }
static const struct rp_cfg_key cert_keys[] = {
    {"cert", RP_CFG_T_CUSTOM, offsetof(struct rp_tls_cert_conf, cert), .handler = h_path,
     .required = true, .help = "PEM file: the certificate, then its chain"},
    {"key", RP_CFG_T_CUSTOM, offsetof(struct rp_tls_cert_conf, key), .handler = h_path,
     .required = true, .help = "PEM file: the private key"},
    {"password", RP_CFG_T_STRING, offsetof(struct rp_tls_cert_conf, password),
     .help = "password of an encrypted key"},
    CERT_PATH(ocsp, "DER OCSP response to staple (re-read when it changes)"),
    {"names", RP_CFG_T_CUSTOM, .handler = h_names,
     .help = "SNI names it serves (default: the certificate's DNS names)"},
};
#undef CERT_PATH

static void h_certificates(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                           const struct rp_cfg_node *v, void *target)
{
    struct rp_tls_listener_conf *tc = target;
    if (!rp_cfg_want(c, k->key, v, RP_CFG_SEQ, "a list of {cert, key} entries"))
        return;
    if (v->u.seq.n == 0 || v->u.seq.n > 64) {
        rp_cfg_diag_at(c->d, v, "certificates: between 1 and 64 entries are needed");
        return;
    }
    tc->certs = rp_arena_calloc(c->a, v->u.seq.n, sizeof(*tc->certs));
    if (!tc->certs)
        return;
    tc->ncerts = v->u.seq.n;
    for (uint32_t i = 0; i < v->u.seq.n; i++) {
        const struct rp_cfg_node *item = v->u.seq.items[i];
        struct rp_tls_cert_conf *cc = &tc->certs[i];
        cc->where = rp_arena_printf(c->a, "%s:%d:%d", item->file, item->line, item->col);
        rp_cfg_apply(c, cert_keys, RP_CFG_COUNT(cert_keys), "certificate", item, cc);
    }
}

static void h_version(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                      void *target)
{
    static const char *const names[] = {"1.2", "1.3"};
    int i;
    if (rp_cfg_get_enum(c, k->key, v, names, 2, &i))
        *(int *)((char *)target + k->offset) = i ? TLS1_3_VERSION : TLS1_2_VERSION;
}

#define TLS(field) offsetof(struct rp_tls_listener_conf, field)
static const struct rp_cfg_key tls_keys[] = {
    {"certificates", RP_CFG_T_CUSTOM, .handler = h_certificates, .required = true,
     .help = "a list of {cert, key, password, ocsp, names}; the first is the default"},
    {"min_version", RP_CFG_T_CUSTOM, TLS(min_version), .handler = h_version,
     .help = "lowest TLS version: \"1.2\" or \"1.3\" (default 1.2)"},
    {"max_version", RP_CFG_T_CUSTOM, TLS(max_version), .handler = h_version,
     .help = "highest TLS version: \"1.2\" or \"1.3\" (default 1.3)"},
    {"ciphers", RP_CFG_T_STRING, TLS(ciphers), .flags = RP_CFG_NONEMPTY,
     .help = "TLS 1.2 cipher list, OpenSSL syntax (default ECDHE with AEAD)"},
    {"ciphersuites", RP_CFG_T_STRING, TLS(ciphersuites), .flags = RP_CFG_NONEMPTY,
     .help = "TLS 1.3 suites, OpenSSL syntax (default OpenSSL's)"},
    {"curves", RP_CFG_T_STRING, TLS(curves), .flags = RP_CFG_NONEMPTY,
     .help = "key exchange groups (default X25519:P-256:P-384)"},
    {"session_tickets", RP_CFG_T_BOOL, TLS(session_tickets),
     .help = "resume sessions with tickets (default true)"},
    {"ticket_rotate", RP_CFG_T_DURATION, TLS(ticket_rotate), 1000, 7u * 24 * 3600 * 1000,
     .help = "how often ticket keys change (default 12h)"},
    {"session_cache", RP_CFG_T_U32, TLS(session_cache), 0, 10000000,
     .help = "server-side session cache entries; 0 = off (default 20480)"},
    {"client_auth", RP_CFG_T_CUSTOM, .handler = rp_cfg_tls_client_auth,
     .help = "client certificates: {mode, ca, subject_header, fingerprint_header}"},
};
#undef TLS

void rp_cfg_listener_tls(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                         const struct rp_cfg_node *v, void *target)
{
    struct rp_listener_conf *l = target;
    struct rp_tls_listener_conf *tc = rp_arena_calloc(c->a, 1, sizeof(*tc));
    if (!tc)
        return;
    tc->min_version = TLS1_2_VERSION;
    tc->max_version = TLS1_3_VERSION;
    tc->session_tickets = true;
    tc->ticket_rotate = 12u * 3600 * 1000;
    tc->session_cache = 20480;
    tc->client_auth.subject_header = "X-Client-Cert-Subject";
    tc->client_auth.fingerprint_header = "X-Client-Cert-Fingerprint";
    if (rp_cfg_apply(c, tls_keys, RP_CFG_COUNT(tls_keys), "tls", v, tc))
        l->tls = tc;
    if (tc->min_version > tc->max_version)
        rp_cfg_diag_at(c->d, v, "tls: min_version is above max_version");
}

#define L(field) offsetof(struct rp_listener_conf, field)
static const struct rp_cfg_key hsts_keys[] = {
    {"max_age", RP_CFG_T_DURATION, L(hsts_max_age), 1000, UINT64_C(10) * 365 * 24 * 3600 * 1000,
     .required = true, .help = "how long browsers must use https, like 8760h (a year)"},
    {"include_subdomains", RP_CFG_T_BOOL, L(hsts_subdomains),
     .help = "add includeSubDomains (default false)"},
    {"preload", RP_CFG_T_BOOL, L(hsts_preload), .help = "add preload (default false)"},
};
#undef L

void rp_cfg_listener_hsts(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                          const struct rp_cfg_node *v, void *target)
{
    rp_cfg_apply(c, hsts_keys, RP_CFG_COUNT(hsts_keys), "hsts", v, target);
    struct rp_listener_conf *l = target;
    l->hsts_max_age /= 1000; /* the header says seconds */
}

void rp_cfg_listener_finish(struct rp_cfg_ctx *c, const struct rp_cfg_node *item,
                            struct rp_listener_conf *l, uint32_t errors_before)
{
    if (l->tls && l->redirect_https)
        rp_cfg_diag_at(c->d, item, "listen: redirect_https is for plain listeners, not with tls");
    if (!l->tls && l->hsts_max_age)
        rp_cfg_diag_at(c->d, item, "listen: hsts needs tls on the same listener");
    if (!l->tls || rp_cfg_diag_count(c->d) != errors_before)
        return; /* the section itself is wrong: loading files would only add noise */
    char err[512];
    int bad;
    l->tls->server = rp_tls_server_new(l, err, sizeof(err), &bad);
    if (l->tls->server)
        return;
    const struct rp_cfg_node *at = rp_cfg_map_get(item, "tls");
    const struct rp_cfg_node *certs = at ? rp_cfg_map_get(at, "certificates") : NULL;
    if (bad >= 0 && certs && certs->kind == RP_CFG_SEQ && (uint32_t)bad < certs->u.seq.n)
        at = certs->u.seq.items[bad];
    rp_cfg_diag_at(c->d, at ? at : item, "tls: %s", err);
}
