/* Socket addresses as written in a config file or on the command line: "127.0.0.1:8080",
 * ":8080" (every IPv4 address), "[::1]:8080" and "name:8080" (resolved once, now). */
#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>

#include "config/config.h"
#include "config/units.h"

static void set_text(struct rp_sockaddr *out)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (out->ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&out->ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        port = ntohs(sin->sin_port);
        snprintf(out->text, sizeof(out->text), "%s:%u", host, port);
    } else {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&out->ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        port = ntohs(sin6->sin6_port);
        snprintf(out->text, sizeof(out->text), "[%s]:%u", host, port);
    }
}

static int set_v4(struct rp_sockaddr *out, const struct in_addr *a, uint16_t port)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
    sin->sin_family = AF_INET;
    sin->sin_addr = *a;
    sin->sin_port = htons(port);
    out->len = sizeof(*sin);
    set_text(out);
    return 0;
}

static int set_v6(struct rp_sockaddr *out, const struct in6_addr *a, uint16_t port)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = *a;
    sin6->sin6_port = htons(port);
    out->len = sizeof(*sin6);
    set_text(out);
    return 0;
}

const char rp_sockaddr_unresolved[] = "cannot resolve the host name";

/* Hostnames are resolved with the system resolver. Fuzzing builds resolve only "localhost" so
 * that random names never wait on DNS. */
static int resolve(const char *host, uint16_t port, struct rp_sockaddr *out, const char **why)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (strcmp(host, "localhost") != 0) {
        *why = rp_sockaddr_unresolved;
        return -1;
    }
#endif
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
        *why = rp_sockaddr_unresolved;
        return -1;
    }
    int rc = -1;
    *why = "the host name has no IPv4 or IPv6 address";
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            rc = set_v4(out, &((const struct sockaddr_in *)ai->ai_addr)->sin_addr, port);
            break;
        }
        if (ai->ai_family == AF_INET6) {
            rc = set_v6(out, &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, port);
            break;
        }
    }
    freeaddrinfo(res);
    return rc;
}

int rp_sockaddr_parse(const char *text, struct rp_sockaddr *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    size_t n = strlen(text);
    const char *colon = memrchr(text, ':', n);
    if (!colon) {
        *why = "expected host:port, e.g. 127.0.0.1:8080 or :8080";
        return -1;
    }
    uint64_t port;
    struct rp_slice ps = {colon + 1, n - (size_t)(colon + 1 - text)};
    if (rp_cfg_parse_uint(ps, &port) != 0 || port < 1 || port > 65535) {
        *why = "the port must be a number from 1 to 65535";
        return -1;
    }
    size_t hn = (size_t)(colon - text);
    char host[256];
    if (hn >= sizeof(host)) {
        *why = "the host name is too long";
        return -1;
    }
    if (hn == 0) {
        struct in_addr any = {.s_addr = htonl(INADDR_ANY)};
        return set_v4(out, &any, (uint16_t)port);
    }
    if (text[0] == '[') {
        if (hn < 3 || text[hn - 1] != ']') {
            *why = "an IPv6 address goes in brackets: [::1]:8080";
            return -1;
        }
        memcpy(host, text + 1, hn - 2);
        host[hn - 2] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1) {
            *why = "not a valid IPv6 address";
            return -1;
        }
        return set_v6(out, &a6, (uint16_t)port);
    }
    memcpy(host, text, hn);
    host[hn] = '\0';
    if (memchr(host, ':', hn)) {
        *why = "an IPv6 address goes in brackets: [::1]:8080";
        return -1;
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return set_v4(out, &a4, (uint16_t)port);
    if (strspn(host, "0123456789.") == hn) {
        *why = "not a valid IPv4 address";
        return -1;
    }
    for (size_t i = 0; i < hn; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!(c == '-' || c == '.' || c == '_' || (c >= '0' && c <= '9') ||
              ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))) {
            *why = "not a valid IP address or host name";
            return -1;
        }
    }
    return resolve(host, (uint16_t)port, out, why);
}

int rp_sockaddr_resolve_all(const char *host, uint16_t port, struct rp_sockaddr *out, int max)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (strcmp(host, "localhost") != 0)
        return 0;
#endif
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return 0;
    int n = 0;
    for (const struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
        struct rp_sockaddr a;
        memset(&a, 0, sizeof(a));
        if (ai->ai_family == AF_INET)
            set_v4(&a, &((const struct sockaddr_in *)ai->ai_addr)->sin_addr, port);
        else if (ai->ai_family == AF_INET6)
            set_v6(&a, &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, port);
        else
            continue;
        bool dup = false; /* one entry per address, not per socket type */
        for (int i = 0; i < n && !dup; i++)
            dup = !strcmp(out[i].text, a.text);
        if (!dup)
            out[n++] = a;
    }
    freeaddrinfo(res);
    return n;
}
