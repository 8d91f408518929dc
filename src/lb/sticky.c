/* Sticky-session cookies (see sticky.h). The id is an HMAC-SHA-256 of the upstream name and
 * the server's identity as configured, keyed with sticky.secret or a key random to this
 * process: it stays the same across reloads (and across restarts with a secret) while the
 * server stays in the config, and reveals nothing about the address. */
#include "lb/sticky.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The key of the ids: sticky.secret when configured (ids then hold across restarts and
 * between proxies sharing it), else random for this process (ids hold across reloads). */
static unsigned char process_key[32];
static pthread_once_t process_key_once = PTHREAD_ONCE_INIT;

static void process_key_init(void)
{
    if (RAND_bytes(process_key, sizeof(process_key)) != 1)
        abort(); /* no randomness: nothing safe to key the cookies with */
}

void rp_sticky_id(const struct rp_upstream_conf *u, uint32_t idx, char out[RP_STICKY_ID_LEN + 1])
{
    const struct rp_server_conf *s = &u->servers[idx];
    if (s->sticky_id[0]) { /* computed at load */
        memcpy(out, s->sticky_id, RP_STICKY_ID_LEN + 1);
        return;
    }
    const void *key = process_key;
    int klen = (int)sizeof(process_key);
    if (u->sticky.secret) {
        key = u->sticky.secret;
        klen = (int)strlen(u->sticky.secret);
    } else {
        pthread_once(&process_key_once, process_key_init);
    }
    char ident[512];
    int n;
    if (s->resolve)
        n = snprintf(ident, sizeof(ident), "%s\n%s:%u#%u", u->name, s->host ? s->host : "", s->port,
                     s->slot);
    else
        n = snprintf(ident, sizeof(ident), "%s\n%s", u->name, s->addr.text);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(ident) ? (size_t)n : sizeof(ident) - 1;
    /* an HMAC, not a plain hash: without the key, hashing guessed addresses cannot tell which
     * server a cookie names */
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    if (!HMAC(EVP_sha256(), key, klen, (const unsigned char *)ident, len, mac, &mlen) ||
        mlen < RP_STICKY_ID_LEN / 2)
        memset(mac, 0, sizeof(mac)); /* cannot happen with SHA-256 */
    for (unsigned i = 0; i < RP_STICKY_ID_LEN / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

void rp_sticky_assign_ids(struct rp_upstream_conf *u)
{
    for (uint32_t i = 0; i < u->nservers; i++) {
        u->servers[i].sticky_id[0] = '\0';
        rp_sticky_id(u, i, u->servers[i].sticky_id);
    }
}

int rp_sticky_find(const struct rp_upstream_conf *u, const char *value, size_t n)
{
    if (n != RP_STICKY_ID_LEN)
        return -1;
    char id[RP_STICKY_ID_LEN + 1];
    for (uint32_t i = 0; i < u->nservers; i++) {
        rp_sticky_id(u, i, id);
        if (!CRYPTO_memcmp(id, value, RP_STICKY_ID_LEN))
            return (int)i;
    }
    return -1;
}

bool rp_sticky_set_cookie(const struct rp_upstream_conf *u, uint32_t idx, char *out, size_t cap)
{
    const struct rp_sticky_conf *c = &u->sticky;
    char id[RP_STICKY_ID_LEN + 1], age[40] = "";
    rp_sticky_id(u, idx, id);
    if (c->max_age)
        snprintf(age, sizeof(age), "; Max-Age=%llu", (unsigned long long)c->max_age);
    int n = snprintf(out, cap, "%s=%s; Path=%s%s%s%s", c->cookie, id, c->path ? c->path : "/", age,
                     c->httponly ? "; HttpOnly" : "", c->secure ? "; Secure" : "");
    return n > 0 && (size_t)n < cap;
}
