/* The DNS wire format for the resolver (RFC 1035, RFC 3596): build one A or AAAA query and
 * parse its response, following CNAME chains inside the answer. Pure functions over buffers:
 * no I/O, no allocation, every offset of the untrusted response is bounds-checked. */
#ifndef RP_LB_DNS_H
#define RP_LB_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RP_DNS_TYPE_A 1
#define RP_DNS_TYPE_CNAME 5
#define RP_DNS_TYPE_AAAA 28
#define RP_DNS_TYPE_OPT 41
#define RP_DNS_CLASS_IN 1

#define RP_DNS_MAX_ADDRS 64   /* addresses kept from one answer (the rest are counted) */
#define RP_DNS_MAX_CNAMES 16  /* aliases followed within one answer */
#define RP_DNS_QUERY_MAX 300  /* room for any query rp_dns_build_query writes */
#define RP_DNS_EDNS_SIZE 1232 /* UDP payload size advertised (EDNS0), fits common MTUs */

/* What a response said, in the order the checks run. */
enum rp_dns_status {
    RP_DNS_OK,        /* RCODE 0: addresses (possibly none: the name has no such record) */
    RP_DNS_NXDOMAIN,  /* RCODE 3: the name does not exist */
    RP_DNS_SERVFAIL,  /* RCODE 2: the server could not answer; try another */
    RP_DNS_RCODE,     /* another error RCODE (FORMERR, REFUSED, ...); try another server */
    RP_DNS_MISMATCH,  /* not the answer to our query: id, QR, opcode or question differ */
    RP_DNS_MALFORMED, /* lengths, labels or compression pointers out of bounds or looping */
};

struct rp_dns_addr {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t bytes[16]; /* 4 or 16 bytes, network order */
    uint32_t ttl;      /* seconds */
};

struct rp_dns_result {
    enum rp_dns_status status;
    uint8_t rcode;     /* the raw RCODE, for logs */
    bool truncated;    /* TC set: what arrived complete was used */
    uint32_t naddrs;   /* distinct addresses in addrs */
    uint32_t ndropped; /* further addresses that did not fit in addrs */
    uint32_t min_ttl;  /* smallest TTL of the records used (addresses and CNAMEs); UINT32_MAX
                          when none */
    struct rp_dns_addr addrs[RP_DNS_MAX_ADDRS];
};

/* Write a query for name ("app.internal" or "app.internal.") and qtype (RP_DNS_TYPE_A or
 * RP_DNS_TYPE_AAAA) into buf: header with the caller's (random) id and RD set, one question of
 * class IN, and an EDNS0 OPT record advertising RP_DNS_EDNS_SIZE when edns is true. Returns the
 * length, or -1 when the name is not a valid host name (empty label, label over 63 bytes, name
 * over 253) or cap is too small (RP_DNS_QUERY_MAX always suffices). */
ssize_t rp_dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype,
                           bool edns);

/* Parse the response pkt[0..len) to the query (id, name, qtype) into *out. Checks the header
 * (id, QR, opcode), the question echo (one question, same name ignoring ASCII case, same type
 * and class) and RCODE, then collects the qtype records of class IN whose owner is name or a
 * CNAME target reachable from name in the same answer section, with their TTLs (records with
 * the top TTL bit set count as 0, RFC 2181). A truncated (TC) response yields the records that
 * arrived whole. Returns out->status. */
enum rp_dns_status rp_dns_parse_response(const uint8_t *pkt, size_t len, uint16_t id,
                                         const char *name, uint16_t qtype,
                                         struct rp_dns_result *out);

/* Short name of a status for logs: "ok", "NXDOMAIN", "SERVFAIL", ... */
const char *rp_dns_status_name(enum rp_dns_status st);

#endif
