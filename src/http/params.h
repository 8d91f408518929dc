/* Reading one cookie or one query parameter out of a request without copying: used for hash
 * keys and sticky sessions. Values are returned raw (no percent-decoding, no quotes removed). */
#ifndef RP_HTTP_PARAMS_H
#define RP_HTTP_PARAMS_H

#include <stdbool.h>

#include "core/slice.h"
#include "http/msg.h"

/* The value of the first cookie called name (case-sensitive, RFC 6265) in m's Cookie fields.
 * Pairs are separated by ';' with optional whitespace; a pair without '=' is skipped. */
bool rp_cookie_find(const struct rp_msg *m, const char *name, struct rp_slice *out);

/* The value of the first parameter called name in a query string (the part after '?', '&'
 * separated; "name" alone gives an empty value). */
bool rp_query_param(struct rp_slice query, const char *name, struct rp_slice *out);

#endif
