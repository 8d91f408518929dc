/* Request-target path normalisation before routing (RFC 3986 sections 2.3, 6.2.2, 5.2.4):
 * percent-encoded unreserved characters are decoded, remaining percent-escapes get uppercase
 * hex, dot-segments are removed so that the result never climbs above "/", and malformed
 * escapes are rejected. */
#ifndef RP_HTTP_URI_H
#define RP_HTTP_URI_H

#include <sys/types.h>

#include "core/slice.h"

/* Normalise path (origin-form path without query, must start with '/') into out[0..cap).
 * cap >= path.n + 1 always suffices (the output is never longer than the input).
 * Returns the output length (> 0, output starts with '/' and is NUL-terminated), or -400 for:
 * a path not starting with '/', a '%' not followed by two hex digits, an encoded NUL (%00),
 * a raw byte that is not allowed in a path (CTL, SP, non-ASCII, '#'), or an encoded '/' or
 * '\\' when reject_encoded_slash is true (then "%2F" never splits or joins segments). Encoded
 * reserved characters other than '/' stay encoded, hex uppercased. Decoded dots take part in
 * dot-segment removal ("/a/%2e%2e/b" -> "/b"). "//" runs are kept (meaningful to some backends). */
ssize_t rp_uri_normalize_path(struct rp_slice path, char *out, size_t cap,
                              bool reject_encoded_slash);

/* Join root directory and a normalised path for the static handler: refuses (returns false) any
 * path containing a "." or ".." segment or a NUL, so the result is always inside root. */
bool rp_uri_safe_join(const char *root, struct rp_slice norm_path, char *out, size_t cap);

#endif
