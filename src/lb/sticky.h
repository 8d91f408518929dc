/* Sticky sessions by cookie: the cookie carries an opaque id of the chosen server (a keyed
 * hash of the upstream name and the server's identity as configured), never its address.
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

/* The server whose id is value[0..n), or -1. */
int rp_sticky_find(const struct rp_upstream_conf *u, const char *value, size_t n);

/* The Set-Cookie value for server idx ("name=id; Path=/; HttpOnly; ..."), NUL-terminated in
 * out; false if it does not fit. */
bool rp_sticky_set_cookie(const struct rp_upstream_conf *u, uint32_t idx, char *out, size_t cap);

#endif
