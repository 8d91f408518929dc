/* Route selection: the first route of the snapshot, in file order, whose match rules all hold
 * for the request. Sees only rp_msg and the normalised path. */
#ifndef RP_PROXY_ROUTER_H
#define RP_PROXY_ROUTER_H

#include "config/config.h"
#include "http/msg.h"

/* host: the request's host without port, any case (from Host or the absolute-form authority).
 * norm_path: the normalised path (rp_uri_normalize_path output). Returns the route or NULL
 * (the caller answers 404). Thread: any; no allocation (regex match data is per thread). */
const struct rp_route *rp_router_match(const struct rp_config *cfg, const struct rp_msg *req,
                                       struct rp_slice host, struct rp_slice norm_path);

/* Strip the port and any trailing dot from a Host value: "Example.com.:8080" -> "Example.com".
 * IPv6 literals keep their brackets: "[::1]:80" -> "[::1]". */
struct rp_slice rp_router_host_only(struct rp_slice host);

/* Free this thread's regex match data and context (created on first regex match). Call when a
 * worker thread ends; matching afterwards simply creates them again. */
void rp_router_thread_exit(void);

#endif
