/* Background re-resolution of upstream host names: one thread with its own event loop sends
 * DNS queries (A and AAAA, src/lb/dns.c) to the configured servers, honours each answer's TTL
 * within resolver.min_interval..max_interval, and fills or clears the upstreams' resolve slots
 * (rp_server_addr_set): new addresses join, vanished ones stop taking new requests while their
 * in-flight requests finish. No worker ever waits on DNS. */
#ifndef RP_LB_RESOLVER_H
#define RP_LB_RESOLVER_H

/* Start the resolver thread (it follows rp_config_acquire_current). 0 or -errno (logged).
 * Does nothing useful (but succeeds) when no upstream has resolve slots; a reload that adds
 * some is picked up. Thread: main, after rp_workers_start (signals already blocked). */
int rp_resolver_start(void);
/* Stop and join the thread; it drops its config reference. Safe when never started. */
void rp_resolver_stop(void);

#endif
