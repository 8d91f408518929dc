/* HTTP/2 on client connections (libnghttp2): h2c with prior knowledge and h2 chosen by ALPN.
 * Each stream is handed to an exchange as a virtual session (s->h2s, io.fd = -1) whose `in`
 * holds the raw request body and whose `out` receives rampart's own HTTP/1.1 framing, which
 * is turned into HEADERS, DATA and trailer frames here. The design is in docs/http2.md. */
#ifndef RP_H2_H2_SERVER_H
#define RP_H2_H2_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct rp_session;

/* The client connection preface (RFC 9113 3.4) against buf[0..n): 1 when buf starts with all
 * of it, 0 when buf is a proper prefix of it (wait for more), -1 otherwise. */
int rp_h2_preface_match(const char *buf, size_t n);

/* Turn the session into an HTTP/2 connection; bytes already in s->in are the start of its
 * input (the preface). From then on rp_session_run calls rp_h2_conn_run. False when out of
 * memory (the caller closes the session). Thread: the session's worker. */
bool rp_h2_server_start(struct rp_session *s);

/* The connection's pump: frames in, streams started and fed, frames out, end of connection.
 * The session may be closed on return. */
void rp_h2_conn_run(struct rp_session *s);

/* Graceful end (worker draining): GOAWAY naming the last stream taken; open streams finish,
 * then the connection closes. */
void rp_h2_conn_drain(struct rp_session *s);

/* The connection's timer fired (idle without streams, a client not reading, a closing
 * connection that does not finish). */
void rp_h2_conn_timeout(struct rp_session *s);

/* The session is closing: end every stream (their exchanges are aborted) and free the
 * HTTP/2 state. Called by session_close before the socket is closed. */
void rp_h2_conn_close(struct rp_session *s);

/* Virtual-session hooks of one stream (vs->h2s set), called by rp_session_fill,
 * rp_session_flush and session_close. fill: bytes of request body are already in vs->in;
 * returns 0, or -1 once the body ended (END_STREAM) and all of it was taken. flush: hands what
 * the exchange wrote to the connection; true when something moved. close: ends the stream
 * (RST_STREAM when its response is incomplete) and frees it once nghttp2 is done with it. */
ssize_t rp_h2_stream_fill(struct rp_session *vs);
bool rp_h2_stream_flush(struct rp_session *vs);
void rp_h2_stream_close(struct rp_session *vs);

#endif
