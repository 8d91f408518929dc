/* Client sessions, exchanges and backend connections: the objects of one request's path.
 * A session is one client connection speaking HTTP/1.1; it runs one exchange at a time
 * (pipelined requests wait in its input buffer). An exchange owns its arena, the request and
 * response messages, and for proxied requests a backend connection. */
#ifndef RP_PROXY_EXCHANGE_H
#define RP_PROXY_EXCHANGE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/arena.h"
#include "core/buf.h"
#include "event/loop.h"
#include "http/body.h"
#include "http/msg.h"
#include "proxy/worker.h"

struct rp_exchange;
struct rp_h2_conn;    /* src/h2/: one HTTP/2 connection (client side or backend side) */
struct rp_h2_stream;  /* src/h2/: one stream of it, seen by an exchange as a session or bconn */
struct rp_h2b_conn;   /* src/h2/h2_backend*.c: one HTTP/2 connection to a backend server */
struct rp_h2b_stream; /* ... one stream of it, seen by an exchange as a (virtual) rp_bconn */
typedef struct ssl_st SSL;

/* One connection to a backend server. */
struct rp_bconn {
    struct rp_io io;
    struct rp_worker *w;
    struct rp_buf in, out;
    struct rp_timer timer;
    struct rp_defer defer;
    struct rp_exchange *x; /* owner while active; NULL while pooled */
    struct rp_bconn *pool_next, *pool_prev;
    struct rp_pool *pool;
    uint64_t idle_deadline;
    struct rp_sockaddr addr;
    char key[RP_POOL_KEY]; /* of the pool it returns to */
    bool connecting, can_read, can_write, eof, closed, reused, timed_out, error;
    bool rdhup;                /* as in rp_session */
    SSL *ssl;                  /* TLS to the backend (src/tls/), NULL for plain TCP */
    bool handshaking;          /* connected, TLS handshake not finished */
    struct rp_h2b_stream *h2s; /* not a socket: one stream of an HTTP/2 backend connection */
    struct rp_h2b_conn *h2c;   /* a real socket carrying HTTP/2 streams (src/h2/ runs it) */
    bool refused; /* the server did not process the request (HTTP/2 REFUSED_STREAM, GOAWAY):
                     a retry is safe whatever the method */
};

enum rp_session_state {
    RP_SS_HANDSHAKE, /* TLS handshake in progress (listeners with tls:) */
    RP_SS_IDLE,      /* waiting for the first byte of a request */
    RP_SS_HEAD,      /* reading a request head */
    RP_SS_EXCHANGE,  /* an exchange is running */
    RP_SS_TUNNEL,    /* upgraded: bytes are copied both ways */
    RP_SS_CLOSING,   /* flushing output, then close */
    RP_SS_LINGER,    /* answer sent and write side shut: discarding what the client still sends */
};

struct rp_session {
    struct rp_io io;
    struct rp_worker *w;
    struct rp_session *next, *prev;
    struct rp_buf in, out;
    struct rp_timer timer;
    struct rp_defer defer;
    enum rp_session_state state;
    struct rp_exchange *x;
    const struct rp_listener_conf *listener;
    char peer_ip[48];
    uint16_t peer_port;
    size_t head_hint;
    uint32_t nrequests;
    uint64_t head_started;              /* loop time when the current head's first byte arrived */
    uint64_t bytes_read, bytes_written; /* totals over the connection's life */
    bool can_read, can_write, eof, closed, want_close;
    bool rdhup;   /* the peer's FIN or an error was signalled: read until recv says so */
    bool nodelay; /* TCP_NODELAY set (lazily, see rp_session_flush) */
    bool linger;  /* the client may still be sending: close gracefully (RP_SS_LINGER) */
    uint64_t linger_until;
    SSL *ssl;                 /* TLS (src/tls/), NULL for plain TCP */
    struct rp_h2_conn *h2;    /* this connection speaks HTTP/2: src/h2/ runs it */
    struct rp_h2_stream *h2s; /* not a socket: one HTTP/2 stream of a connection (io.fd = -1) */
    struct rp_session *conn;  /* h2s: the client connection carrying the stream (its TLS) */
};

enum rp_handler_kind { RP_H_NONE, RP_H_LOCAL, RP_H_STATIC, RP_H_PROXY };

struct rp_exchange {
    struct rp_session *s;
    struct rp_worker *w;
    struct rp_cfg_slot *slot;
    const struct rp_config *cfg;
    const struct rp_route *route;
    struct rp_arena arena;

    struct rp_msg req;
    struct rp_slice norm_path; /* the request path after normalisation (what the client sees) */
    struct rp_slice path;      /* after normalisation and route rewrites, for the backend */
    struct rp_slice host;      /* request host without port */
    char request_id[33];

    /* request body from the client */
    struct rp_body_reader req_body;
    struct rp_body_writer req_out;
    bool req_done;      /* whole request body read */
    bool req_sent;      /* ... and written to the backend buffer */
    bool continue_sent; /* 100 Continue answered */
    bool discard_body;  /* local handler: read and drop the body */

    /* response */
    struct rp_msg resp;
    int status; /* what the client got (for the log) */
    struct rp_body_reader resp_body;
    struct rp_body_writer resp_out;
    bool resp_head_sent;
    bool resp_done; /* whole response written into the session's output */
    bool head_request;

    enum rp_handler_kind handler;
    /* static file being sent */
    int file_fd;
    uint64_t file_off, file_left;

    /* proxy */
    const struct rp_upstream_conf *upstream;
    struct rp_bconn *b;
    uint32_t server_idx;
    uint32_t tries;
    bool retried_stale; /* already retried once after a reused connection failed */
    bool upgrade;       /* request asked for an upgrade */
    bool body_touched;  /* request body bytes were consumed: it cannot be replayed */
    bool resp_parsed;   /* backend response head received */
    bool backend_progress, paused_on_client;          /* per step, for the backend timer */
    bool tunnel_fin_to_backend, tunnel_fin_to_client; /* half-closes passed on */
    size_t resp_hint;
    int fail_status;              /* status to answer when every server failed */
    struct rp_slice backend_head; /* the request head as sent, for a retry */
    struct {
        char *p; /* request body bytes as framed for the backend (arena) */
        size_t n, cap;
        bool overflow; /* too big or not wanted: no replay */
    } replay;

    /* load balancing (src/proxy/upstream_select.c) */
    uint32_t *tried; /* servers attempted so far (arena, retries.tries entries) */
    uint32_t ntried;
    bool attempt_open;       /* the current server's in-flight count includes this exchange */
    bool attempt_reported;   /* ... and its result was reported */
    bool lb_active;          /* counted in the upstream's active requests */
    uint32_t budget_granted; /* the try number whose retry the budget allowed (0: none) */
    bool queued;             /* waiting in the worker's queue for a server below max_conns */
    struct rp_exchange *q_next, *q_prev;
    uint64_t queue_deadline;   /* loop time */
    const char *sticky_cookie; /* Set-Cookie value for the response (arena), or NULL */

    /* response compression (src/filter/zfilter.h) */
    struct rp_zfilter *zf; /* the body goes through it; NULL: as it came */
    int zcoding;           /* enum rp_coding of the response (also for HEAD) */
    bool zvary;            /* Vary: Accept-Encoding is due */
    bool zdirty;           /* data fed since the last flush */
    bool zended;           /* the end was fed */

    /* accounting */
    uint64_t start_us, upstream_start_us, upstream_us;
    uint64_t bytes_in, bytes_out; /* set at the end from the session's totals */
    uint64_t in_mark, out_mark;   /* session totals when the exchange began */
    char upstream_addr[64];
};

#endif
