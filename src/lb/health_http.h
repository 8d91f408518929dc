/* The HTTP side of active health checks, free of I/O so it can be tested alone: the request a
 * check sends, the accepted-status test, and an incremental reader of the response that decides
 * pass or fail (status ranges, then the body substring within the first 64 KiB). */
#ifndef RP_LB_HEALTH_HTTP_H
#define RP_LB_HEALTH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "http/chunked.h"
#include "http/msg.h"

#define RP_HC_BODY_MAX 65536 /* body bytes searched for health_check.body */
#define RP_HC_HEAD_MAX 32768 /* a longer response head fails the check */

/* True when status is within one of h->status ranges (200-399 when there are none). */
bool rp_hc_status_ok(const struct rp_health_conf *h, int status);

/* The Host a check of server srv (probed at addr) sends: health.host, else the upstream's
 * host_header, else the server's host name with the port, else the address text. Points into
 * the config or into buf[0..n). */
const char *rp_hc_host(const struct rp_upstream_conf *u, const struct rp_server_conf *srv,
                       const struct rp_sockaddr *addr, char *buf, size_t n);

/* Write the check request for server srv of u (probed at addr) into out[0..cap):
 * "METHOD PATH HTTP/1.1", Host, User-Agent and Connection: close. Returns its length, or 0
 * when it does not fit or a configured part holds bytes that cannot go on the wire. */
size_t rp_hc_request(const struct rp_upstream_conf *u, const struct rp_server_conf *srv,
                     const struct rp_sockaddr *addr, char *out, size_t cap);

enum rp_hc_verdict { RP_HC_FAIL = -1, RP_HC_MORE = 0, RP_HC_PASS = 1 };

/* Reader state of one response. */
struct rp_hc_resp {
    const struct rp_health_conf *h;
    enum rp_method meth; /* of the request (HEAD has no body) */
    size_t hint;         /* head parser resume point */
    int status;          /* of the final response; 0 until its head is in */
    enum rp_body_kind kind;
    uint64_t left;         /* RP_BODY_LENGTH: body bytes still to come */
    struct rp_chunked *ch; /* RP_BODY_CHUNKED decoder (allocated on demand) */
    char *body;            /* the body seen so far, up to RP_HC_BODY_MAX (when h->body) */
    size_t body_len;
    char why[160]; /* the reason of a RP_HC_FAIL */
};

/* Start reading the response to a check configured by h. */
void rp_hc_resp_init(struct rp_hc_resp *r, const struct rp_health_conf *h);

/* Feed the bytes p[0..n) received so far and not yet used (eof: the connection ended after
 * them). *used is set to how many were taken; the caller keeps the rest and feeds them again
 * with more. RP_HC_MORE: need more bytes; RP_HC_PASS; RP_HC_FAIL with r->why set. Untrusted
 * input: any bytes give one of those three. */
enum rp_hc_verdict rp_hc_resp_feed(struct rp_hc_resp *r, const char *p, size_t n, size_t *used,
                                   bool eof);

/* Free what the reader allocated; r may be fed again only after rp_hc_resp_init. */
void rp_hc_resp_free(struct rp_hc_resp *r);

#endif
