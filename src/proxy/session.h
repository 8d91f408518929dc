/* Client sessions (HTTP/1.1 server side): accept, read and parse request heads, run one
 * exchange at a time, write responses, keep-alive and pipelining, timeouts. */
#ifndef RP_PROXY_SESSION_H
#define RP_PROXY_SESSION_H

#include <sys/socket.h>

#include "proxy/exchange.h"

/* Take over an accepted, non-blocking client socket. Thread: the worker's. */
void rp_session_accept(struct rp_worker *w, int fd, const struct rp_listener_conf *l,
                       const struct sockaddr_storage *peer);

/* Run the session's state machine until nothing more can be done now. Handlers call it (through
 * rp_session_kick) when their side made progress. */
void rp_session_run(struct rp_session *s);

/* Schedule rp_session_run at the end of this loop iteration. */
void rp_session_kick(struct rp_session *s);

/* Worker is draining: close the session now if it is between requests, else close after the
 * current exchange. force closes it now whatever it is doing. */
void rp_session_drain(struct rp_session *s, bool force);
/* Close after the last bytes went out; a client that may still be sending gets a lingering
 * close (write side shut, its bytes read and dropped for a while) so that it reads our last
 * words rather than a reset. */
void rp_session_end_linger(struct rp_session *s);

/* Read from the client into s->in when allowed; returns bytes read (> 0), 0 when nothing could
 * be read now, -1 on EOF or error (s->eof set). */
ssize_t rp_session_fill(struct rp_session *s);

/* Write s->out to the client; returns true when bytes were written. Errors close the session. */
bool rp_session_flush(struct rp_session *s);

/* Reserve room in s->out for streamed data, taking a buffer when needed; false when out of
 * memory or when the buffer is full (the caller waits for the flush: back-pressure). */
bool rp_session_out_room(struct rp_session *s, size_t want);

/* Reserve room for one piece that must be written whole (a head, a local answer), growing the
 * buffer past its standard size if needed; false only when out of memory. */
bool rp_session_out_piece(struct rp_session *s, size_t want);

/* Set up vs as the virtual session of one HTTP/2 stream of the connection conn (src/h2/): no
 * socket (io.fd = -1), the connection's worker, listener and peer, the session timers; the
 * caller sets vs->h2s. Thread: the worker's. */
void rp_session_init_stream(struct rp_session *vs, struct rp_session *conn);

/* Answer the exchange with a complete local response (error pages, respond, redirect).
 * extra: additional header lines, each ending in CRLF, or NULL. The connection is closed after
 * it when the request body was not read. */
void rp_exchange_local_response(struct rp_exchange *x, int status, const char *content_type,
                                const char *body, size_t body_len, const char *extra);

/* Answer with rampart's own error page for status (never reveals backend details). */
void rp_exchange_error(struct rp_exchange *x, int status);

/* The standard reason phrase for a status code ("" when unknown). */
const char *rp_http_reason(int status);

#endif
