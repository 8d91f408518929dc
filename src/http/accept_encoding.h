/* Content codings and Accept-Encoding negotiation (RFC 9110 12.5.3): which coding a response
 * should be sent in, given the request's Accept-Encoding fields with their q-values and the
 * server's order of preference. */
#ifndef RP_HTTP_ACCEPT_ENCODING_H
#define RP_HTTP_ACCEPT_ENCODING_H

#include <stddef.h>

#include "core/slice.h"
#include "http/msg.h"

enum rp_coding {
    RP_CODING_IDENTITY,
    RP_CODING_GZIP, /* "gzip" (also accepted as "x-gzip") */
    RP_CODING_BR,   /* "br" */
    RP_CODING_ZSTD, /* "zstd" */
    RP_CODING_COUNT,
};

/* The token of a coding ("identity", "gzip", "br", "zstd"). */
const char *rp_coding_name(enum rp_coding c);
/* The coding named by token (case-insensitive); -1 when unknown. */
int rp_coding_parse(struct rp_slice token);

/* The coding to use for a response to req, among pref[0..n) (most preferred first, identity
 * need not be listed): the one with the highest q-value in the request's Accept-Encoding
 * (ties go to the earlier in pref); "*" covers codings not named; q=0 refuses. Without any
 * Accept-Encoding field: identity. Returns RP_CODING_IDENTITY when no listed coding is
 * acceptable and identity is; -1 when nothing acceptable is left (identity refused by
 * "identity;q=0" or "*;q=0" with nothing else: the caller may answer 406 or send identity
 * anyway, RFC 9110 12.5.3). Malformed elements are skipped, never fatal. */
int rp_accept_encoding_choose(const struct rp_msg *req, const enum rp_coding *pref, size_t n);

#endif
