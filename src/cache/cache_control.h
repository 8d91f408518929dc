/* HTTP caching rules of RFC 9111 (and RFC 5861's stale-* extensions) as pure functions: the
 * Cache-Control directives of a request or response, whether a response may be stored by a
 * shared cache, its freshness lifetime (explicit or heuristic), and its current age. The cache
 * filter and store (src/cache/) build on these; nothing here does I/O or keeps state. */
#ifndef RP_CACHE_CACHE_CONTROL_H
#define RP_CACHE_CACHE_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/slice.h"
#include "http/msg.h"

#define RP_CC_ABSENT (-1)         /* a delta-seconds directive that is not there */
#define RP_CC_UNBOUNDED INT64_MAX /* max-stale without a value: any staleness */

/* The directives of all Cache-Control fields of one message, combined (RFC 9111 5.2). Delta
 * seconds are RP_CC_ABSENT when not present; a value too large saturates at 2^31 (5.2: "a
 * cache ... MUST consider it as 2147483648"); a malformed value of max-age or s-maxage makes
 * the response stale (max_age = 0), of request directives ignores the directive. */
struct rp_cc {
    bool present; /* at least one Cache-Control field */
    int64_t max_age, s_maxage, max_stale, min_fresh;
    int64_t stale_while_revalidate, stale_if_error; /* RFC 5861 */
    bool no_store, no_transform, only_if_cached;
    bool no_cache, private_, public_, must_revalidate, proxy_revalidate, immutable;
    bool must_understand;
    /* the qualified forms (no-cache="Set-Cookie, X-A"): the field names as written, without
     * quotes; .p == NULL when the directive has no list (then it applies to the whole) */
    struct rp_slice no_cache_fields, private_fields;
};

/* Parse m's Cache-Control fields (directive names are case-insensitive; unknown ones are
 * ignored; quoted-string values are accepted). Also honours "Pragma: no-cache" in a request
 * without Cache-Control (RFC 9111 5.4). */
void rp_cc_parse(const struct rp_msg *m, bool is_request, struct rp_cc *out);

/* Cache options from the route (src/config): what a shared cache may store. */
struct rp_cache_rules {
    bool store_set_cookie; /* responses with Set-Cookie may be stored (default false) */
    bool heuristic;        /* heuristic freshness from Last-Modified (default true) */
    int64_t heuristic_max; /* cap of the heuristic lifetime, s (default 86400) */
    int64_t default_ttl;   /* lifetime when nothing else says (0 = none: not fresh) */
};

/* May a shared cache store this response to this request (RFC 9111 3, 3.5)? Method GET or
 * HEAD; status final and understood; no no-store on either; not private; Authorization in the
 * request only with public, s-maxage or must-revalidate; something that makes it reusable
 * (explicit freshness, a heuristically cacheable status with Last-Modified, or public);
 * Vary: * is never stored. *why is set to a short reason when false. */
bool rp_cache_storable(const struct rp_msg *req, const struct rp_cc *req_cc,
                       const struct rp_msg *resp, const struct rp_cc *resp_cc,
                       const struct rp_cache_rules *rules, const char **why);

/* Freshness lifetime in seconds (RFC 9111 4.2.1/4.2.2) for a shared cache: s-maxage, else
 * max-age, else Expires - Date, else heuristic (10 % of Date - Last-Modified, capped, for the
 * heuristically cacheable statuses), else rules->default_ttl; 0 = stale at once. now is used
 * when Date is missing. */
int64_t rp_cache_freshness_lifetime(const struct rp_msg *resp, const struct rp_cc *resp_cc,
                                    const struct rp_cache_rules *rules, int64_t now);

/* current_age (RFC 9111 4.2.3) from the response's Age and Date fields and the times the
 * request was sent and the response received (all seconds since the epoch). */
int64_t rp_cache_age(const struct rp_msg *resp, int64_t request_time, int64_t response_time,
                     int64_t now);

/* How a stored response may answer a request now (RFC 9111 4.2.4, 4.3, RFC 5861). */
enum rp_cache_use {
    RP_USE_FRESH,      /* serve it */
    RP_USE_STALE_OK,   /* stale, but the request's max-stale allows it: serve it */
    RP_USE_SWR,        /* stale within stale-while-revalidate: serve it, refresh behind */
    RP_USE_REVALIDATE, /* send a conditional request first */
    RP_USE_MISS,       /* not usable (only-if-cached then gives 504) */
};
enum rp_cache_use rp_cache_usable(const struct rp_cc *req_cc, const struct rp_cc *resp_cc,
                                  int64_t age, int64_t lifetime);

/* Stale-if-error: may this stale response answer when the origin failed or gave a 5xx? */
bool rp_cache_stale_if_error(const struct rp_cc *req_cc, const struct rp_cc *resp_cc, int64_t age,
                             int64_t lifetime);

#endif
