/* HTTP/2 to backends, shared by its two files: h2_backend.c runs the real connections (socket,
 * nghttp2 session, frame callbacks), h2_backend_stream.c translates one exchange's HTTP/1.1
 * into a stream and back. Not for use outside src/h2/h2_backend*.c. */
#ifndef RP_H2_H2_BACKEND_INT_H
#define RP_H2_H2_BACKEND_INT_H

#include <nghttp2/nghttp2.h>

#include "h2/h2_backend.h"
#include "http/body.h"
#include "http/chunked.h"

/* Receive window per stream: what one slow client lets the backend buffer in rampart. The
 * connection window is returned at once (a slow stream never stalls its siblings), so memory
 * per connection is bounded by streams x this. */
#define RP_H2B_STREAM_WINDOW (256 * 1024)
#define RP_H2B_CONN_WINDOW (16 * 1024 * 1024)

/* Bound of a synthesized response head and of a trailer section (either way). */
#define RP_H2B_MAX_HEAD (64 * 1024)

struct rp_h2b_conn {
    struct rp_bconn *b; /* the real connection (b->h2c == this) */
    struct rp_worker *w;
    nghttp2_session *ng;
    struct rp_h2b_conn *next, *prev; /* w->h2b_conns */
    struct rp_h2b_stream *streams;   /* attached streams (doubly linked through st->next) */
    uint32_t nstreams;
    uint32_t max_streams;        /* the upstream's h2_max_streams (latest seen) */
    uint64_t idle_ms;            /* keepalive_timeout of the upstream (latest seen) */
    bool keepalive;              /* the upstream keeps idle connections (keepalive > 0) */
    char key[RP_POOL_KEY + 136]; /* rp_pool_key, then the upstream name */
    bool tls;                    /* h2 over TLS: :scheme https */
    bool established;            /* connected (and TLS with ALPN h2 done): frames may flow */
    bool dead;                   /* GOAWAY, error or closing: no new streams */
    bool closed;
    uint32_t rounds;       /* pump rounds in this pass, for fairness */
    struct rp_defer defer; /* a pump run at the end of the loop iteration */
};

struct rp_h2b_stream {
    struct rp_bconn vb;    /* what the proxy holds: vb.h2s == this, vb.io.fd == -1 */
    struct rp_h2b_conn *c; /* NULL once the connection is gone */
    struct rp_h2b_stream *next, *prev;
    int32_t id; /* 0 until the request was submitted */
    enum rp_method meth;

    /* request: HTTP/1.1 from vb.out to HEADERS, DATA, trailing HEADERS */
    bool submitted; /* HEADERS queued */
    bool req_end;   /* END_STREAM (or the trailers) queued */
    bool deferred;  /* the data source waits for vb.out: resume it when bytes come */
    struct rp_body_reader req_body;
    struct rp_chunked *req_chunked; /* malloc'd for a chunked request body */
    struct rp_buf req_trailers;     /* trailer lines from the chunked body, CRLF-terminated */

    /* response: frames to HTTP/1.1 into vb.in */
    int status;             /* final status, 0 until seen */
    bool interim;           /* the header block being read is a 1xx: dropped */
    bool head_done;         /* the response head is complete in vb.in */
    bool no_body;           /* HEAD, 204, 304: no body framing at all */
    bool only_head;         /* the head carries END_STREAM: fields wait in trailers (below) */
    bool grpc;              /* content-type application/grpc... */
    bool ended;             /* END_STREAM received */
    bool end_written;       /* last-chunk and trailers written into vb.in */
    bool closed;            /* nghttp2 closed the stream */
    bool failed;            /* reset, refused or the connection was lost before the end */
    struct rp_buf rdata;    /* DATA received, not yet framed into vb.in (stream window bounds it) */
    struct rp_buf trailers; /* the trailer section as "name: value\r\n" lines */
};

/* h2_backend_stream.c: the nghttp2 side of one stream, called from the frame callbacks. */
/* One field of a header block: -1 when the head or trailer section grows past its bound
 * (the stream is then reset). */
int rp_h2b_stream_on_header(struct rp_h2b_stream *st, const nghttp2_frame *f, struct rp_slice name,
                            struct rp_slice value);
/* A HEADERS frame (with its CONTINUATIONs) is complete; also sees its END_STREAM. */
void rp_h2b_stream_on_headers_end(struct rp_h2b_stream *st, const nghttp2_frame *f);
void rp_h2b_stream_on_data(struct rp_h2b_stream *st, const uint8_t *p, size_t n);
/* END_STREAM on a DATA frame. */
void rp_h2b_stream_on_end(struct rp_h2b_stream *st);
void rp_h2b_stream_on_close(struct rp_h2b_stream *st, uint32_t error_code);
/* The connection is lost (or could not be set up): every attached stream fails. */
void rp_h2b_stream_conn_lost(struct rp_h2b_stream *st);

/* h2_backend.c: run the connection's pump at the end of this loop iteration. */
void rp_h2b_conn_schedule(struct rp_h2b_conn *c);
/* A stream leaves its connection (release); the connection may become idle or close. */
void rp_h2b_conn_detach(struct rp_h2b_conn *c, struct rp_h2b_stream *st);
/* Wake the exchange that holds the stream. */
void rp_h2b_stream_kick(struct rp_h2b_stream *st);

#endif
