/* The exchange's life, as seen by the session and by the handlers (local, static, proxy). */
#ifndef RP_PROXY_EXCHANGE_RUN_H
#define RP_PROXY_EXCHANGE_RUN_H

#include "proxy/exchange.h"

/* Start an exchange for the parsed head msg occupying the first head_len bytes of s->in
 * (slices into it). The head is copied into the exchange arena and consumed from s->in. */
void rp_exchange_begin(struct rp_session *s, const struct rp_msg *msg, size_t head_len);

/* Start an exchange that only answers status (a malformed or timed-out head) and closes. */
void rp_exchange_begin_error(struct rp_session *s, int status);

/* Advance the exchange; true when anything moved. The session may be closed on return
 * (check s->closed). */
bool rp_exchange_step(struct rp_exchange *x);

/* The session timer to arm while this exchange runs (ms, 0 = none). */
uint64_t rp_exchange_client_timeout(struct rp_exchange *x);

/* The session timer fired: answer 408 if nothing was sent yet (true), else false (close). */
bool rp_exchange_on_client_timeout(struct rp_exchange *x);

/* The client connection is going away: release everything of the exchange. */
void rp_exchange_abort(struct rp_exchange *x);

/* Close the client connection because the exchange cannot go on (a truncated backend response,
 * a malformed request body). */
void rp_exchange_fail(struct rp_exchange *x);

/* Keep at most keep spare exchanges of this thread (0 at worker exit). */
void rp_exchange_cache_drain(unsigned keep);

/* Handlers. */
void rp_proxy_start(struct rp_exchange *x);
bool rp_proxy_step(struct rp_exchange *x);
void rp_proxy_release(struct rp_exchange *x, bool abort);
/* A queued exchange tries again to get a server (src/proxy/upstream_select.c's queue). */
void rp_proxy_resume(struct rp_exchange *x);
bool rp_proxy_on_client_timeout(struct rp_exchange *x);

void rp_static_start(struct rp_exchange *x);
bool rp_static_step(struct rp_exchange *x);

/* Backend request head for x (in the exchange arena). */
struct rp_slice rp_proxy_build_request_head(struct rp_exchange *x, enum rp_body_out out);

/* True when a response's Transfer-Encoding names a coding besides chunked (gzip, ...). */
bool rp_response_has_codings(const struct rp_msg *m);

/* True for a header or trailer line "Name: value" whose name is one of the client-certificate
 * identity fields of any listener of cfg: rampart sets those, a client never does. */
bool rp_proxy_identity_line(const struct rp_config *cfg, struct rp_slice line);

/* Write the client response head for resp into s->out; false when out of memory. */
bool rp_proxy_write_response_head(struct rp_exchange *x, const struct rp_msg *resp,
                                  enum rp_body_out out);

/* Route header edits on heads rampart writes itself: the bytes the set/add lines need, whether
 * a standard field is replaced or removed by them, and writing those lines (0 on overflow). */
size_t rp_header_ops_size(const struct rp_header_ops *ops);
bool rp_header_ops_hides(const struct rp_header_ops *ops, const char *name);
size_t rp_header_ops_write(const struct rp_header_ops *ops, char *out, size_t cap);

/* Heads rampart writes itself (local answers, static files): the room they need besides the
 * caller's own fields; the status line with Server, Date, X-Request-ID and Content-Type
 * (content_type may be NULL); then, after the caller's own fields, the route's response header
 * edits, Connection and the blank line. The writers return the bytes written into p[0..cap)
 * and never write past cap. */
/* snprintf's result as bytes written, or 0 when it did not fit: rooms are sized beforehand
 * (rp_local_head_size), so 0 means a bug, and then a field is dropped instead of overrunning. */
static inline size_t rp_fitted(int k, size_t cap)
{
    return k > 0 && (size_t)k < cap ? (size_t)k : 0;
}

size_t rp_local_head_size(const struct rp_exchange *x, const char *content_type);
size_t rp_local_head_begin(struct rp_exchange *x, int status, const char *content_type, char *p,
                           size_t cap);
size_t rp_local_head_end(struct rp_exchange *x, char *p, size_t cap);

/* A session's listener l (from the start-up snapshot) as snapshot cfg describes it: keys that
 * a reload may change (http2, HSTS, redirects, client_auth) are read from there; l when cfg
 * does not list its address, NULL for NULL. */
const struct rp_listener_conf *rp_listener_in(const struct rp_config *cfg,
                                              const struct rp_listener_conf *l);

/* The exchange's listener as the exchange's config snapshot describes it. */
const struct rp_listener_conf *rp_exchange_listener(const struct rp_exchange *x);

/* "Strict-Transport-Security: ...\r\n" into p[0..cap) when the listener has tls and hsts and the
 * route does not set or remove the field itself; returns the bytes written (0: none). */
size_t rp_hsts_field(const struct rp_exchange *x, char *p, size_t cap);

/* Access log line for a finished exchange. */
void rp_access_log(const struct rp_exchange *x);

#endif
