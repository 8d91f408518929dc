/* Loading one certificate entry of a TLS listener: the chain, the private key (with its
 * password), the checks (validity dates, key matches certificate) with reasons that name the
 * file, and the SNI names (configured, or the certificate's DNS names). */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "tls/tls_server_int.h"

void rp_tls_stamp_take(struct rp_tls_stamp *s, const char *path)
{
    struct stat st;
    memset(s, 0, sizeof(*s));
    s->path = path;
    if (stat(path, &st) != 0) {
        s->missing = true;
        return;
    }
    s->mtime = st.st_mtim;
    s->size = st.st_size;
    s->ino = st.st_ino;
}

bool rp_tls_stamp_same(const struct rp_tls_stamp *a, const struct rp_tls_stamp *b)
{
    return a->missing == b->missing && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec && a->size == b->size && a->ino == b->ino;
}

static int password_cb(char *buf, int size, int rwflag, void *u)
{
    const char *pw = u;
    if (!pw) /* never prompt on a terminal */
        return 0;
    size_t n = strlen(pw);
    if (n > (size_t)size)
        n = (size_t)size;
    memcpy(buf, pw, n);
    return (int)n;
}

static void asn1_time_text(const ASN1_TIME *t, char *out, size_t n)
{
    BIO *b = BIO_new(BIO_s_mem());
    out[0] = '\0';
    if (!b)
        return;
    if (ASN1_TIME_print(b, t) == 1) {
        int len = BIO_read(b, out, (int)n - 1);
        out[len > 0 ? len : 0] = '\0';
    }
    BIO_free(b);
}

const char *rp_tls_ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown error";
}

static bool add_name(struct rp_tls_cert *c, const char *s, size_t n)
{
    char *name = strndup(s, n);
    if (!name)
        return false;
    for (char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (!rp_tls_name_valid(name)) {
        free(name);
        return true; /* not a DNS name (an IP, a URI in a dNSName): not for SNI */
    }
    for (uint32_t i = 0; i < c->nnames; i++)
        if (!strcmp(c->names[i], name)) {
            free(name);
            return true;
        }
    char **v = realloc(c->names, (c->nnames + 1) * sizeof(*v));
    if (!v) {
        free(name);
        return false;
    }
    c->names = v;
    c->names[c->nnames++] = name;
    return true;
}

/* The dNSName SANs of the leaf, else its common name. */
static bool names_from_cert(struct rp_tls_cert *c)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(c->leaf, NID_subject_alt_name, NULL, NULL);
    bool ok = true;
    for (int i = 0; gens && ok && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS)
            ok = add_name(c, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
                          (size_t)ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(gens);
    if (ok && c->nnames == 0) {
        X509_NAME *subj = X509_get_subject_name(c->leaf);
        int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
        X509_NAME_ENTRY *e = idx >= 0 ? X509_NAME_get_entry(subj, idx) : NULL;
        ASN1_STRING *cn = e ? X509_NAME_ENTRY_get_data(e) : NULL;
        if (cn)
            ok = add_name(c, (const char *)ASN1_STRING_get0_data(cn),
                          (size_t)ASN1_STRING_length(cn));
    }
    return ok;
}

static bool load_chain(const struct rp_tls_cert_conf *cc, struct rp_tls_cert *c, char *err,
                       size_t n)
{
    BIO *b = BIO_new_file(cc->cert, "r");
    if (!b) {
        snprintf(err, n, "cannot open certificate file %s: %s", cc->cert,
                 strerror(errno ? errno : ENOENT));
        return false;
    }
    c->leaf = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
    if (!c->leaf) {
        BIO_free(b);
        snprintf(err, n, "%s: no PEM certificate in the file", cc->cert);
        return false;
    }
    c->chain = sk_X509_new_null();
    X509 *x;
    while (c->chain && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
        if (!sk_X509_push(c->chain, x))
            X509_free(x);
    ERR_clear_error(); /* the end of the file */
    BIO_free(b);
    if (!c->chain) {
        snprintf(err, n, "out of memory");
        return false;
    }
    char when[64];
    if (X509_cmp_current_time(X509_get0_notAfter(c->leaf)) <= 0) {
        asn1_time_text(X509_get0_notAfter(c->leaf), when, sizeof(when));
        snprintf(err, n, "certificate %s expired on %s", cc->cert, when);
        return false;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(c->leaf)) > 0) {
        asn1_time_text(X509_get0_notBefore(c->leaf), when, sizeof(when));
        snprintf(err, n, "certificate %s is not valid before %s", cc->cert, when);
        return false;
    }
    return true;
}

#define MAX_KEY_FILE (1024 * 1024)

static bool load_key(const struct rp_tls_cert_conf *cc, struct rp_tls_cert *c, char *err, size_t n)
{
    FILE *f = fopen(cc->key, "rb");
    if (!f) {
        snprintf(err, n, "cannot open key file %s: %s", cc->key, strerror(errno));
        return false;
    }
    char *text = malloc(MAX_KEY_FILE + 1);
    size_t len = text ? fread(text, 1, MAX_KEY_FILE, f) : 0;
    fclose(f);
    if (!text) {
        snprintf(err, n, "out of memory");
        return false;
    }
    text[len] = '\0';
    /* PKCS#8 ("ENCRYPTED PRIVATE KEY") or traditional ("Proc-Type: 4,ENCRYPTED") */
    bool encrypted = strstr(text, "ENCRYPTED") != NULL;
    BIO *b = BIO_new_mem_buf(text, (int)len);
    ERR_clear_error();
    c->key = b ? PEM_read_bio_PrivateKey(b, NULL, password_cb, (void *)cc->password) : NULL;
    BIO_free(b);
    OPENSSL_cleanse(text, len);
    free(text);
    if (!c->key) {
        if (encrypted && cc->password)
            snprintf(err, n, "cannot decrypt key %s: wrong password", cc->key);
        else if (encrypted)
            snprintf(err, n, "key %s is encrypted: set \"password\"", cc->key);
        else
            snprintf(err, n, "cannot read private key %s: %s", cc->key, rp_tls_ssl_reason());
        return false;
    }
    if (X509_check_private_key(c->leaf, c->key) != 1) {
        snprintf(err, n, "key %s does not match certificate %s", cc->key, cc->cert);
        return false;
    }
    c->key_type = EVP_PKEY_get_base_id(c->key);
    return true;
}

bool rp_tls_cert_load(const struct rp_tls_cert_conf *cc, struct rp_tls_cert *c, char *err, size_t n)
{
    ERR_clear_error();
    errno = 0;
    if (!load_chain(cc, c, err, n) || !load_key(cc, c, err, n))
        return false;
    bool ok = true;
    for (uint32_t i = 0; ok && i < cc->nnames; i++)
        ok = add_name(c, cc->names[i], strlen(cc->names[i]));
    if (ok && cc->nnames == 0)
        ok = names_from_cert(c);
    if (!ok) {
        snprintf(err, n, "out of memory");
        return false;
    }
    if (c->nnames == 0 && cc->nnames == 0)
        rp_log_debug("certificate %s names no DNS host: used only as a default", cc->cert);
    if (cc->ocsp)
        c->ocsp = rp_tls_ocsp_new(cc->ocsp);
    return true;
}

void rp_tls_cert_free(struct rp_tls_cert *c)
{
    X509_free(c->leaf);
    sk_X509_pop_free(c->chain, X509_free);
    EVP_PKEY_free(c->key);
    for (uint32_t i = 0; i < c->nnames; i++)
        free(c->names[i]);
    free(c->names);
    rp_tls_ocsp_free(c->ocsp);
}
