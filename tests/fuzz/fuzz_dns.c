/* libFuzzer harness for the DNS response parser: the first byte picks the query (A or AAAA,
 * and one of two names), the rest is the response with the id it carries. Whatever the bytes,
 * parsing ends, and a result is consistent: addresses only with OK, never more than fit, each
 * of the queried family, no duplicates, and min_ttl no larger than any address's TTL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lb/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint16_t qtype = (data[0] & 1) ? RP_DNS_TYPE_AAAA : RP_DNS_TYPE_A;
    const char *name = (data[0] & 2) ? "a.test" : "app.internal";
    const uint8_t *pkt = data + 1;
    size_t len = size - 1;
    uint16_t id = len >= 2 ? (uint16_t)((pkt[0] << 8) | pkt[1]) : 0;
    static struct rp_dns_result res;
    enum rp_dns_status st = rp_dns_parse_response(pkt, len, id, name, qtype, &res);
    if (st != res.status || st > RP_DNS_MALFORMED)
        abort();
    if (st != RP_DNS_OK && res.naddrs)
        abort();
    if (res.naddrs > RP_DNS_MAX_ADDRS)
        abort();
    int family = qtype == RP_DNS_TYPE_A ? AF_INET : AF_INET6;
    size_t alen = family == AF_INET ? 4 : 16;
    for (uint32_t i = 0; i < res.naddrs; i++) {
        if (res.addrs[i].family != family || res.addrs[i].ttl < res.min_ttl)
            abort();
        for (uint32_t j = 0; j < i; j++)
            if (!memcmp(res.addrs[i].bytes, res.addrs[j].bytes, alen))
                abort();
    }
    /* a query for the same name parses back as an empty answer once QR is set */
    uint8_t q[RP_DNS_QUERY_MAX];
    ssize_t n = rp_dns_build_query(q, sizeof(q), id, name, qtype, len & 1);
    if (n <= 0)
        abort();
    q[2] |= 0x80;
    if (rp_dns_parse_response(q, (size_t)n, id, name, qtype, &res) != RP_DNS_OK || res.naddrs)
        abort();
    return 0;
}
