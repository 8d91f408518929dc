/* OCSP stapling from a DER file: the response is read at load and again when the file's mtime
 * changes (looked at no more than every few seconds), kept in memory and attached to handshakes
 * that ask for it. A file that is missing or does not parse is logged and nothing is stapled. */
#include <openssl/ocsp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "tls/tls_server_int.h"

#define CHECK_EVERY_MS 3000
#define MAX_OCSP_SIZE (64 * 1024)

struct rp_tls_ocsp {
    pthread_mutex_t lock;
    char *path;
    unsigned char *der; /* the current response (OPENSSL_malloc'd), or NULL */
    size_t len;
    struct rp_tls_stamp stamp; /* of the file as last read */
    uint64_t checked;          /* monotonic ms of the last look at the file */
};

/* Under lock: read the file when its stamp changed. */
static void refresh(struct rp_tls_ocsp *o, bool first)
{
    struct rp_tls_stamp now;
    rp_tls_stamp_take(&now, o->path);
    if (!first && rp_tls_stamp_same(&now, &o->stamp))
        return;
    o->stamp = now;
    OPENSSL_free(o->der);
    o->der = NULL;
    o->len = 0;
    FILE *f = fopen(o->path, "rb");
    unsigned char *buf = OPENSSL_malloc(MAX_OCSP_SIZE);
    size_t n = f && buf ? fread(buf, 1, MAX_OCSP_SIZE, f) : 0;
    if (f)
        fclose(f);
    const unsigned char *p = buf;
    OCSP_RESPONSE *r = n && n < MAX_OCSP_SIZE ? d2i_OCSP_RESPONSE(NULL, &p, (long)n) : NULL;
    int status = r ? OCSP_response_status(r) : -1;
    OCSP_RESPONSE_free(r);
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        rp_log_error("ocsp %s: %s; nothing is stapled", o->path,
                     !f   ? "cannot read the file"
                     : !r ? "not a DER OCSP response"
                          : "the response is not successful");
        OPENSSL_free(buf);
        return;
    }
    o->der = buf;
    o->len = n;
}

struct rp_tls_ocsp *rp_tls_ocsp_new(const char *path)
{
    struct rp_tls_ocsp *o = calloc(1, sizeof(*o));
    if (!o || !(o->path = strdup(path))) {
        free(o);
        return NULL;
    }
    pthread_mutex_init(&o->lock, NULL);
    refresh(o, true);
    o->checked = rp_clock_mono_ms();
    return o;
}

void rp_tls_ocsp_free(struct rp_tls_ocsp *o)
{
    if (!o)
        return;
    OPENSSL_free(o->der);
    pthread_mutex_destroy(&o->lock);
    free(o->path);
    free(o);
}

bool rp_tls_ocsp_staple(struct rp_tls_ocsp *o, SSL *ssl)
{
    unsigned char *copy = NULL;
    size_t len = 0;
    pthread_mutex_lock(&o->lock);
    uint64_t now = rp_clock_mono_ms();
    if (now - o->checked >= CHECK_EVERY_MS) {
        o->checked = now;
        refresh(o, false);
    }
    if (o->der && (copy = OPENSSL_malloc(o->len))) {
        memcpy(copy, o->der, o->len);
        len = o->len;
    }
    pthread_mutex_unlock(&o->lock);
    if (!copy)
        return false;
    if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)len) != 1) {
        OPENSSL_free(copy);
        return false;
    }
    return true;
}
