/* Where the listeners' TLS contexts live: one entry per TLS listener address for the process's
 * life, holding the current set. Workers take it under a short lock on accept; the main thread
 * replaces it after a reload or when certificate files change on disk. A set that is replaced
 * stays alive while handshakes and connections made from it still need it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "tls/tls_server_int.h"

struct entry {
    char addr[64];
    struct rp_tls_server *cur;
    struct rp_config *cfg;               /* owner of conf (referenced) */
    const struct rp_listener_conf *conf; /* what cur was built from: rebuilt from it */
    struct rp_tls_stamp *failed;         /* files as seen by the last failed rebuild */
    uint32_t nfailed;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *entries;
static uint32_t nentries;
static bool started;

static struct entry *find(const char *addr)
{
    for (uint32_t i = 0; i < nentries; i++)
        if (!strcmp(entries[i].addr, addr))
            return &entries[i];
    return NULL;
}

/* Install t (reference taken over) built from conf of cfg into e; the old set and config are
 * handed back to be dropped outside the lock. */
static void install(struct entry *e, struct rp_tls_server *t, struct rp_config *cfg,
                    const struct rp_listener_conf *conf, struct rp_tls_server **old_t,
                    struct rp_config **old_cfg)
{
    rp_config_ref(cfg);
    pthread_mutex_lock(&lock);
    *old_t = e->cur;
    *old_cfg = e->cfg;
    e->cur = t;
    e->cfg = cfg;
    e->conf = conf;
    pthread_mutex_unlock(&lock);
    free(e->failed);
    e->failed = NULL;
    e->nfailed = 0;
}

void rp_tls_registry_publish(struct rp_config *cfg)
{
    uint64_t period = 0;
    for (uint32_t i = 0; i < cfg->nlisteners; i++) {
        const struct rp_listener_conf *l = &cfg->listeners[i];
        if (!l->tls || !l->tls->server)
            continue;
        if (l->tls->session_tickets && (!period || l->tls->ticket_rotate < period))
            period = l->tls->ticket_rotate;
        struct entry *e = find(l->addr.text);
        if (!e && started) {
            rp_log_warn("reload: tls on %s takes effect only after a restart", l->addr.text);
            continue;
        }
        if (!e) {
            struct entry *v = realloc(entries, (nentries + 1) * sizeof(*v));
            if (!v) {
                rp_log_error("tls on %s: out of memory", l->addr.text);
                continue;
            }
            /* workers are not running yet at start-up: growing the array is safe */
            entries = v;
            e = &entries[nentries++];
            memset(e, 0, sizeof(*e));
            snprintf(e->addr, sizeof(e->addr), "%s", l->addr.text);
        }
        struct rp_tls_server *old_t;
        struct rp_config *old_cfg;
        rp_tls_server_ref(l->tls->server);
        install(e, l->tls->server, cfg, l, &old_t, &old_cfg);
        rp_tls_server_unref(old_t);
        rp_config_unref(old_cfg);
    }
    if (started)
        for (uint32_t i = 0; i < nentries; i++) {
            bool still = false;
            for (uint32_t j = 0; j < cfg->nlisteners && !still; j++)
                still =
                    cfg->listeners[j].tls && !strcmp(cfg->listeners[j].addr.text, entries[i].addr);
            if (!still)
                rp_log_warn("reload: %s stays a TLS listener until a restart", entries[i].addr);
        }
    rp_tls_tickets_period(period);
    started = true;
}

SSL *rp_tls_accept(const struct rp_listener_conf *l, int fd, bool *is_tls)
{
    *is_tls = false;
    if (!l->tls)
        return NULL;
    pthread_mutex_lock(&lock);
    struct entry *e = find(l->addr.text);
    struct rp_tls_server *t = e ? e->cur : NULL;
    if (t)
        rp_tls_server_ref(t);
    pthread_mutex_unlock(&lock);
    if (!t)
        return NULL;
    *is_tls = true;
    SSL *ssl = rp_tls_server_ssl_new(t, fd);
    rp_tls_server_unref(t);
    return ssl;
}

/* The files of e as they are now, if any differs from what cur was built from and from what
 * the last failed attempt saw; NULL when nothing changed. */
static struct rp_tls_stamp *changed_files(const struct entry *e)
{
    const struct rp_tls_server *t = e->cur;
    struct rp_tls_stamp *now = calloc(t->nfiles ? t->nfiles : 1, sizeof(*now));
    if (!now)
        return NULL;
    bool differs = false, same_as_failed = e->failed != NULL;
    for (uint32_t i = 0; i < t->nfiles; i++) {
        rp_tls_stamp_take(&now[i], t->files[i].path);
        differs |= !rp_tls_stamp_same(&now[i], &t->files[i]);
        if (e->failed && i < e->nfailed)
            same_as_failed &= rp_tls_stamp_same(&now[i], &e->failed[i]);
    }
    if (!differs || same_as_failed) {
        free(now);
        return NULL;
    }
    return now;
}

void rp_tls_registry_watch(void)
{
    for (uint32_t i = 0; i < nentries; i++) {
        struct entry *e = &entries[i];
        if (!e->cur)
            continue;
        struct rp_tls_stamp *now = changed_files(e);
        if (!now)
            continue;
        char err[512];
        int bad;
        struct rp_tls_server *t = rp_tls_server_new(e->conf, err, sizeof(err), &bad);
        if (!t) {
            const char *where = bad >= 0 ? e->conf->tls->certs[bad].where : e->conf->name;
            rp_log_error("tls %s: certificate files changed but cannot be used (%s: %s); the "
                         "previous certificates stay",
                         e->addr, where ? where : "?", err);
            free(e->failed);
            e->failed = now;
            e->nfailed = e->cur->nfiles;
            continue;
        }
        free(now);
        struct rp_tls_server *old_t;
        struct rp_config *old_cfg;
        install(e, t, e->cfg, e->conf, &old_t, &old_cfg);
        rp_tls_server_unref(old_t);
        rp_config_unref(old_cfg);
        rp_log_info("tls %s: certificates reloaded from changed files", e->addr);
    }
}

void rp_tls_registry_clear(void)
{
    for (uint32_t i = 0; i < nentries; i++) {
        rp_tls_server_unref(entries[i].cur);
        rp_config_unref(entries[i].cfg);
        free(entries[i].failed);
    }
    free(entries);
    entries = NULL;
    nentries = 0;
    started = false;
}
