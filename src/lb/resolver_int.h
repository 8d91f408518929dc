/* Inside the resolver (src/lb/resolver*.c): one re-resolved name and its slots, and the step
 * that applies a DNS answer to those slots. Split from the thread so unit tests can drive the
 * slot bookkeeping without sockets. */
#ifndef RP_LB_RESOLVER_INT_H
#define RP_LB_RESOLVER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "lb/dns.h"

/* A host name of one upstream with its resolve slots in the snapshot the resolver holds. */
struct rp_resolve_name {
    const struct rp_upstream_conf *u;
    const char *host;              /* as written, e.g. "app.internal" */
    uint16_t port;                 /* paired with every address */
    struct rp_server_conf **slots; /* by slot number; owned (malloc) */
    uint32_t nslots;
    bool overflow_warned; /* "more addresses than slots" was said for the current excess */
};

/* The socket address of a DNS answer's address with port, text filled ("1.2.3.4:80",
 * "[2001:db8::1]:80"). */
void rp_resolver_sockaddr(const struct rp_dns_addr *a, uint16_t port, struct rp_sockaddr *out);

/* Make n's slots hold exactly addrs[0..naddrs) (distinct) as far as slots allow: an address
 * already in a slot stays there untouched, a slot whose address is not in addrs is cleared, a
 * new address takes an empty slot (ones that were empty before this call first, so a just
 * cleared slot is reused last). Addresses that find no slot are ignored with one warning until
 * they fit again. Logs the changes at info with ttl_s. Returns the number of slots changed.
 * Thread: the resolver (the only writer of slot addresses). */
unsigned rp_resolver_apply(struct rp_resolve_name *n, const struct rp_sockaddr *addrs,
                           uint32_t naddrs, uint32_t ttl_s);

#endif
