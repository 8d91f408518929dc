/* The resolver's slot bookkeeping: an answer's addresses are matched against what the slots of
 * a name hold, so unchanged addresses keep their slot (and their health, counters and pooled
 * connections), vanished ones are cleared and new ones move into empty slots. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "lb/resolver_int.h"
#include "lb/server_state.h"

#define MAX_APPLY (2 * RP_DNS_MAX_ADDRS) /* A and AAAA answers together */

void rp_resolver_sockaddr(const struct rp_dns_addr *a, uint16_t port, struct rp_sockaddr *out)
{
    memset(out, 0, sizeof(*out));
    char ip[INET6_ADDRSTRLEN];
    if (a->family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, a->bytes, 16);
        out->len = sizeof(*s6);
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(out->text, sizeof(out->text), "[%s]:%u", ip, port);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, a->bytes, 4);
        out->len = sizeof(*s4);
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(out->text, sizeof(out->text), "%s:%u", ip, port);
    }
}

/* Same family, address and port (whatever else the structures carry). */
static bool same_addr(const struct rp_sockaddr *a, const struct rp_sockaddr *b)
{
    if (a->ss.ss_family != b->ss.ss_family)
        return false;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin6_port == y->sin6_port &&
               !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
    }
    return false;
}

/* A line being built for the log; a full one ends in "...". */
struct line {
    char buf[1024];
    size_t n;
};

__attribute__((format(printf, 2, 3))) static void add(struct line *l, const char *fmt, ...)
{
    if (l->n >= sizeof(l->buf) - 4)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(l->buf + l->n, sizeof(l->buf) - l->n, fmt, ap);
    va_end(ap);
    if (w < 0)
        return;
    if ((size_t)w >= sizeof(l->buf) - l->n - 4) {
        l->n = sizeof(l->buf) - 4;
        memcpy(l->buf + l->n, "...", 4);
        return;
    }
    l->n += (size_t)w;
}

/* Put addrs[i] into the first empty slot (with rt); the slot index or -1. */
static int fill_empty(struct rp_resolve_name *n, const struct rp_sockaddr *addr)
{
    struct rp_sockaddr cur;
    for (uint32_t s = 0; s < n->nslots; s++) {
        const struct rp_server_conf *srv = n->slots[s];
        if (!srv->rt || rp_server_addr(srv, &cur))
            continue;
        rp_server_addr_set(srv, addr);
        return (int)s;
    }
    return -1;
}

unsigned rp_resolver_apply(struct rp_resolve_name *n, const struct rp_sockaddr *addrs,
                           uint32_t naddrs, uint32_t ttl_s)
{
    if (naddrs > MAX_APPLY)
        naddrs = MAX_APPLY;
    int owner[MAX_APPLY]; /* slot holding addrs[i], or -1 */
    for (uint32_t i = 0; i < naddrs; i++)
        owner[i] = -1;
    struct rp_sockaddr cur;
    /* which answers are already in a slot */
    for (uint32_t s = 0; s < n->nslots; s++) {
        if (!n->slots[s]->rt || !rp_server_addr(n->slots[s], &cur))
            continue;
        for (uint32_t i = 0; i < naddrs; i++)
            if (owner[i] < 0 && same_addr(&cur, &addrs[i])) {
                owner[i] = (int)s;
                break;
            }
    }
    struct line plus = {.n = 0}, minus = {.n = 0};
    unsigned changes = 0;
    /* new addresses into slots that were already empty */
    for (uint32_t i = 0; i < naddrs; i++)
        if (owner[i] < 0 && (owner[i] = fill_empty(n, &addrs[i])) >= 0) {
            add(&plus, " +%s", addrs[i].text);
            changes++;
        }
    /* vanished addresses out */
    for (uint32_t s = 0; s < n->nslots; s++) {
        const struct rp_server_conf *srv = n->slots[s];
        if (!srv->rt || !rp_server_addr(srv, &cur))
            continue;
        bool kept = false;
        for (uint32_t i = 0; i < naddrs && !kept; i++)
            kept = owner[i] == (int)s;
        if (kept)
            continue;
        rp_server_addr_set(srv, NULL);
        add(&minus, " -%s", cur.text);
        changes++;
    }
    /* the rest of the new ones into slots freed just now */
    uint32_t ignored = 0;
    for (uint32_t i = 0; i < naddrs; i++) {
        if (owner[i] >= 0)
            continue;
        if ((owner[i] = fill_empty(n, &addrs[i])) >= 0) {
            add(&plus, " +%s", addrs[i].text);
            changes++;
        } else {
            ignored++;
        }
    }
    if (changes)
        rp_log_info("upstream %s: %s resolved:%s%s (ttl %us)", n->u->name, n->host, plus.buf,
                    minus.buf, ttl_s);
    if (ignored && !n->overflow_warned)
        rp_log_warn("upstream %s: %s has %u addresses but %u slots: %u ignored (raise "
                    "resolve:)",
                    n->u->name, n->host, naddrs, n->nslots, ignored);
    n->overflow_warned = ignored > 0;
    return changes;
}
