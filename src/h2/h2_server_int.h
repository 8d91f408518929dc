/* Shared between the connection half (h2_server.c: nghttp2 session, callbacks, defences) and
 * the stream half (h2_stream.c: request heads to exchanges, virtual sessions, responses to
 * frames) of client-side HTTP/2. Not for other subsystems. */
#ifndef RP_H2_H2_SERVER_INT_H
#define RP_H2_H2_SERVER_INT_H

#include <nghttp2/nghttp2.h>

#include "h2/h2_server.h"
#include "http/body.h"
#include "proxy/exchange.h"

struct rp_h2_conn {
    struct rp_session *s; /* the real connection */
    nghttp2_session *ng;
    struct rp_h2_stream *streams; /* every stream object still allocated */
    uint32_t nlive;               /* streams whose virtual session is open */
    /* limits, taken from the config when the connection started */
    uint32_t max_streams, window, max_resets, max_headers;
    size_t max_list;   /* decoded header list size (name + value + 32 per field) */
    size_t max_fields; /* limits.max_header_size: regular fields as "name: value\r\n" */
    size_t max_target; /* limits.max_request_line: :path */
    uint64_t send_timeout, keepalive_timeout;
    uint64_t idle_since;  /* loop time nlive last became 0: PINGs do not extend the idle time */
    uint64_t reset_epoch; /* loop time the reset count started */
    uint32_t resets;
    bool draining; /* GOAWAY sent for a graceful end */
    bool closing;  /* terminated: send what is queued, then close */
    bool dead;     /* being freed: no nghttp2 calls any more */
};

/* Where one received header field sits in the stream's virtual session `in` buffer (offsets,
 * so that the buffer may move while it grows). */
struct rp_h2_field {
    uint32_t name, nlen, value, vlen;
};

struct rp_h2_stream {
    struct rp_session vs; /* what the exchange sees */
    struct rp_h2_conn *c;
    struct rp_h2_stream *next, *prev;
    int32_t id;

    /* request head being received */
    struct rp_h2_field *f;
    uint32_t nf, capf, nregular;
    size_t list_size, fields_size;
    int head_status; /* 0, or the status to answer instead of the request (400, 431) */
    enum rp_method meth;

    /* request body */
    uint64_t unacked; /* bytes put into vs.in that the exchange has not taken yet */
    bool req_end;     /* END_STREAM received */

    /* response */
    bool head_sent;     /* final HEADERS submitted */
    bool resp_eof;      /* the whole response was handed to nghttp2 */
    bool deferred;      /* the data provider is waiting for bytes */
    bool end_sent;      /* a frame with END_STREAM went out */
    bool rst_after_end; /* request body unfinished: RST_STREAM NO_ERROR after END_STREAM */
    size_t resp_hint;
    struct rp_body_reader rd;
    struct rp_chunked *chunked; /* decoder of a chunked response (malloc) */
    struct rp_buf carry;        /* decoded body bytes that did not fit the last DATA frame */
    char *trailers;             /* "name: value" lines, NUL-separated */
    size_t ntrailers, captrailers;

    bool h2_closed; /* nghttp2 closed the stream */
    bool vs_closed; /* the virtual session closed */
    bool began;     /* the request head was complete */
    bool freeing;   /* queued for freeing */
};

/* h2_stream.c, called by the connection half (and its nghttp2 callbacks). */
struct rp_h2_stream *rp_h2_stream_new(struct rp_h2_conn *c, int32_t id);
/* One header field of the request head; < 0: the connection must end (header list far past
 * its limit). */
int rp_h2_stream_header(struct rp_h2_stream *st, const uint8_t *name, size_t nlen,
                        const uint8_t *value, size_t vlen);
/* The request head is complete: start the exchange (or answer 400/431). */
void rp_h2_stream_head_done(struct rp_h2_stream *st, bool end_stream);
/* Request body bytes and the end of the body. */
void rp_h2_stream_data(struct rp_h2_stream *st, const uint8_t *p, size_t n);
void rp_h2_stream_end(struct rp_h2_stream *st);
/* nghttp2 closed the stream (error_code: why, NO_ERROR when it completed). */
void rp_h2_stream_on_close(struct rp_h2_stream *st, uint32_t error_code);
/* A frame with END_STREAM was sent for it. */
void rp_h2_stream_on_end_sent(struct rp_h2_stream *st);
/* Tell nghttp2 about request body bytes the exchange took (WINDOW_UPDATE). */
void rp_h2_stream_ack(struct rp_h2_stream *st);
/* Free a stream whose virtual session is closed (connection teardown). */
void rp_h2_stream_free_later(struct rp_h2_stream *st);

#endif
