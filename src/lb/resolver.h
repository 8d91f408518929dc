/* Background re-resolution of upstream host names: one thread with its own event loop sends
 * DNS queries (A and AAAA, src/lb/dns.c) to the configured servers, honours each answer's TTL
 * within resolver.min_interval..max_interval, and fills or clears the upstreams' resolve slots
 * (rp_server_addr_set): new addresses join, vanished ones stop taking new requests while their
 * in-flight requests finish. No worker ever waits on DNS. */
#ifndef RP_LB_RESOLVER_H
#define RP_LB_RESOLVER_H

/* Start the resolver thread (it follows rp_config_acquire_current). 0 or -errno. Does nothing
 * useful (but succeeds) when no upstream has resolve slots. */
int rp_resolver_start(void);
void rp_resolver_stop(void);

#endif
