/* Sticky-session cookies (see sticky.h). The id is a hash of the upstream name and the
 * server's configured identity, so it stays the same across restarts and reloads while the
 * server stays in the config, and it reveals nothing about the address. */
#include "lb/sticky.h"

#include <stdio.h>
#include <string.h>

#include "lb/balancer.h"

void rp_sticky_id(const struct rp_upstream_conf *u, uint32_t idx, char out[RP_STICKY_ID_LEN + 1])
{
    const struct rp_server_conf *s = &u->servers[idx];
    char ident[256];
    int n;
    if (s->resolve)
        n = snprintf(ident, sizeof(ident), "rampart-sticky\n%s\n%s:%u#%u", u->name,
                     s->host ? s->host : "", s->port, s->slot);
    else
        n = snprintf(ident, sizeof(ident), "rampart-sticky\n%s\n%s", u->name, s->addr.text);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(ident) ? (size_t)n : sizeof(ident) - 1;
    snprintf(out, RP_STICKY_ID_LEN + 1, "%016llx", (unsigned long long)rp_lb_hash64(ident, len));
}

int rp_sticky_find(const struct rp_upstream_conf *u, const char *value, size_t n)
{
    if (n != RP_STICKY_ID_LEN)
        return -1;
    char id[RP_STICKY_ID_LEN + 1];
    for (uint32_t i = 0; i < u->nservers; i++) {
        rp_sticky_id(u, i, id);
        if (!memcmp(id, value, RP_STICKY_ID_LEN))
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
