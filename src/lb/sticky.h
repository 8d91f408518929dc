/* Sticky sessions by cookie: the cookie carries an opaque id of the chosen server (an HMAC of
 * the upstream name and the server's identity as configured, keyed with sticky.secret or a key
 * random to the process), never its address.
 * A cookie naming a server that is gone or not usable falls back to the balancer, and the
 * response then sets a new cookie. */
#ifndef RP_LB_STICKY_H
#define RP_LB_STICKY_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define RP_STICKY_ID_LEN 16

/* The id of server idx of u: RP_STICKY_ID_LEN lowercase hex digits and a NUL. */
void rp_sticky_id(const struct rp_upstream_conf *u, uint32_t idx, char out[RP_STICKY_ID_LEN + 1]);

/* Compute every server's id into its sticky_id (at load, so picks do not hash). */
void rp_sticky_assign_ids(struct rp_upstream_conf *u);

/* The server whose id is value[0..n), or -1. */
int rp_sticky_find(const struct rp_upstream_conf *u, const char *value, size_t n);

/* The Set-Cookie value for server idx ("name=id; Path=/; HttpOnly; ..."), NUL-terminated in
 * out; false if it does not fit. */
bool rp_sticky_set_cookie(const struct rp_upstream_conf *u, uint32_t idx, char *out, size_t cap);

#endif
