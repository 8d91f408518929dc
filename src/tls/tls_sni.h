/* Server names for SNI: matching a certificate name (exact or "*.example.com") against the name
 * a client asked for, and finding the entry for a name in a small table. Pure functions, no
 * OpenSSL: unit-tested in tests/unit/tls_sni.c. */
#ifndef RP_TLS_TLS_SNI_H
#define RP_TLS_TLS_SNI_H

#include <stdbool.h>
#include <stddef.h>

/* One name of a listener's table and what it selects (an SSL_CTX for tls_server.c). */
struct rp_tls_sni_entry {
    const char *name; /* lowercase; exact or "*.suffix" */
    void *value;
};

/* True when pattern covers host, ignoring ASCII case and one trailing dot of host. A wildcard
 * "*.example.com" covers exactly one more label ("a.example.com", not "a.b.example.com" nor
 * "example.com"); a wildcard host (as written in another certificate) is covered only by the
 * same wildcard. */
bool rp_tls_name_match(const char *pattern, const char *host);

/* The value of the best entry for host: an exact name first, then a wildcard; the first one
 * in table order wins among equals. NULL when none matches (the caller uses its default). */
void *rp_tls_sni_find(const struct rp_tls_sni_entry *tab, size_t n, const char *host);

/* True when s can be a certificate name: DNS labels of letters, digits, '-' and '_', optionally
 * starting with "*." (then at least two more labels), at most 253 bytes. */
bool rp_tls_name_valid(const char *s);

#endif
