/* The proxy handler: picks a server (round robin), takes a pooled connection or connects,
 * sends the rebuilt request head, streams the request body to the backend and the response
 * back to the client with back-pressure both ways, retries what is safe to retry, and turns
 * into a byte tunnel after 101 Switching Protocols. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/log.h"
#include "filter/zfilter.h"
#include "h2/h2_backend.h"
#include "http/h1_parse.h"
#include "proxy/exchange_run.h"
#include "proxy/session.h"
#include "proxy/upstream_pool.h"
#include "proxy/upstream_select.h"
#include "tls/tls_io.h"

/* Room kept free in an output buffer for chunk framing and one trailer line. */
#define FRAME_ROOM (RP_BODY_FRAME_OVERHEAD + 4200)

/* A copy of the request body as framed for the backend, kept while it is small, so that an
 * idempotent request can be sent again when a pooled connection turns out to be dead. */
#define REPLAY_MAX (64 * 1024)

static bool body_replayable(const struct rp_exchange *x)
{
    return x->req.body == RP_BODY_NONE || !x->body_touched || (x->replay.p && !x->replay.overflow);
}

static void replay_keep(struct rp_exchange *x, const char *p, size_t n)
{
    if (x->replay.overflow || n == 0)
        return;
    /* only where a retry could happen: an idempotent request with another try left (another
     * server, or a fresh connection after a reused one), or any request to an HTTP/2 server
     * (which may refuse a stream it did not process) */
    bool h2 = x->b->h2s != NULL;
    bool another_try = x->tries < x->upstream->retries.tries || (x->b->reused && !x->retried_stale);
    if (!x->replay.p && ((!another_try && !h2) || (!h2 && !rp_method_idempotent(x->req.meth)) ||
                         (x->req.body == RP_BODY_LENGTH && x->req.content_length > REPLAY_MAX))) {
        x->replay.overflow = true;
        return;
    }
    if (x->replay.cap - x->replay.n < n) {
        /* sized to the body when its length is known, else doubling from 4 KiB */
        size_t cap = x->req.body == RP_BODY_LENGTH ? (size_t)x->req.content_length
                                                   : (x->replay.cap ? x->replay.cap * 2 : 4096);
        while (cap < x->replay.n + n)
            cap *= 2;
        char *np = cap <= REPLAY_MAX ? rp_arena_alloc(&x->arena, cap) : NULL;
        if (!np) {
            x->replay.overflow = true;
            return;
        }
        if (x->replay.n)
            memcpy(np, x->replay.p, x->replay.n);
        x->replay.p = np;
        x->replay.cap = cap;
    }
    memcpy(x->replay.p + x->replay.n, p, n);
    x->replay.n += n;
}

/* How long to wait for backend bytes: the per-try timeout until the response head arrived
 * (so that a retry still has time), the backend read timeout after. */
static uint64_t wait_timeout(const struct rp_exchange *x)
{
    uint64_t t = x->upstream->retries.try_timeout;
    return t && !x->resp_parsed ? t : x->cfg->timeouts.backend_read;
}

/* Connect (or take a pooled connection) to the next server and queue the request head.
 * fresh: the same server again on a new connection (after a stale pooled one). */
static void connect_next(struct rp_exchange *x, bool fresh)
{
    const struct rp_upstream_conf *u = x->upstream;
    struct rp_worker *w = x->w;
    for (;;) {
        if (fresh) {
            rp_upstream_attempt_reopen(x);
        } else {
            if (x->tries >= u->retries.tries)
                break;
            /* one budget decision per retry, however often the queue brings it back here */
            if (x->tries > 0 && x->budget_granted != x->tries) {
                if (!rp_upstream_retry_allowed(x)) {
                    rp_log_warn("upstream %s: retry budget spent: no retry after %s", u->name,
                                x->upstream_addr);
                    break;
                }
                x->budget_granted = x->tries;
            }
            enum rp_select_result r = rp_upstream_select(x);
            if (r == RP_SEL_FULL && rp_upstream_enqueue(x))
                return; /* the queue calls rp_proxy_resume when a place opens */
            if (r != RP_SEL_OK) {
                if (r == RP_SEL_NONE && x->tries > 0)
                    break; /* every server it could try failed: their error */
                rp_log_warn("upstream %s: %s: 503", u->name,
                            r == RP_SEL_FULL ? "every server is at max_conns and the queue is full"
                                             : "no usable server");
                rp_upstream_unavailable(x);
                return;
            }
            rp_upstream_dequeue(x);
            x->tries++;
        }
        bool pooled = !fresh; /* a fresh connection is wanted only for this attempt */
        fresh = false;
        const struct rp_server_conf *conf = &u->servers[x->server_idx];
        struct rp_server_conf srv = *conf;      /* with the live address of a resolve slot */
        if (!rp_server_addr(conf, &srv.addr)) { /* the resolver emptied it just now */
            rp_upstream_attempt_close(x);
            continue;
        }
        snprintf(x->upstream_addr, sizeof(x->upstream_addr), "%s", srv.addr.text);
        struct rp_bconn *b = NULL;
        int err = 0;
        if (u->protocol != RP_UP_HTTP1)
            b = rp_h2b_open(w, u, &srv, &err); /* a stream on a shared connection */
        else if (!(b = pooled ? rp_pool_take(w, u, &srv) : NULL))
            b = rp_bconn_connect(w, u, &srv, &err);
        x->upstream_start_us = rp_clock_mono_us();
        if (!b) {
            rp_log_warn("upstream %s: connect to %s failed: %s", u->name, srv.addr.text,
                        strerror(-err));
            x->fail_status = 502;
            rp_upstream_attempt_result(x, RP_ATTEMPT_CONNECT_FAIL);
            rp_upstream_attempt_close(x);
            continue;
        }
        if (!x->backend_head.p) {
            x->backend_head = rp_proxy_build_request_head(x, x->req_out.kind);
            if (!x->backend_head.p) {
                rp_bconn_close(b);
                rp_exchange_error(x, 500);
                return;
            }
        }
        size_t again = body_replayable(x) && x->replay.p ? x->replay.n : 0;
        size_t need = x->backend_head.n + again;
        if (!rp_buf_reserve(&b->out, need, need + RP_BUF_SIZE)) {
            rp_bconn_close(b);
            rp_exchange_error(x, 500);
            return;
        }
        rp_buf_put(&b->out, x->backend_head.p, x->backend_head.n);
        if (again)
            rp_buf_put(&b->out, x->replay.p, again); /* the body sent on the dead connection */
        b->x = x;
        x->b = b;
        x->resp_hint = 0; /* the parser's resume offset belonged to the previous connection */
        rp_timer_arm(&w->loop, &b->timer,
                     b->connecting || b->handshaking ? x->cfg->timeouts.connect : wait_timeout(x));
        return;
    }
    rp_exchange_error(x, x->fail_status ? x->fail_status : 502);
}

void rp_proxy_resume(struct rp_exchange *x)
{
    connect_next(x, false);
}

void rp_proxy_start(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    x->handler = RP_H_PROXY;
    x->upstream = x->route->upstream;
    x->upgrade = x->req.upgrade;
    if (x->upstream->rt) {
        atomic_fetch_add_explicit(&x->upstream->rt->active, 1, memory_order_relaxed);
        x->lb_active = true;
        rp_lb_budget_request(x->upstream, rp_clock_mono_ms());
    }
    /* RP_BODY_CLOSE: an HTTP/2 request body that ends with its stream (no content-length) */
    x->req_out.kind = x->req.body == RP_BODY_LENGTH ? RP_OUT_LENGTH
                      : x->req.body == RP_BODY_CHUNKED || x->req.body == RP_BODY_CLOSE
                          ? RP_OUT_CHUNKED
                          : RP_OUT_NONE;
    /* 100-continue is answered here (the backend never sees Expect): the body is wanted */
    if (x->req.expect_continue && !x->req_done && x->req.version >= 11 && rp_buf_len(&s->in) == 0 &&
        rp_session_out_piece(s, 32)) {
        rp_buf_put(&s->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        x->continue_sent = true;
    }
    connect_next(x, false);
}

/* A retry on another server after this failure is safe: nothing of the response reached the
 * client, the body can be sent again, and either the server cannot have processed the request
 * (no connection, a refused stream) or the method is idempotent (RFC 9110 9.2.2). */
static bool may_retry_elsewhere(const struct rp_exchange *x, bool unprocessed)
{
    return !x->resp_head_sent && body_replayable(x) &&
           (unprocessed || rp_method_idempotent(x->req.meth));
}

/* A backend connection failed; retry where that is safe, else answer 502/504 or cut the
 * client connection when the response had already started. */
static void backend_failed(struct rp_exchange *x)
{
    struct rp_bconn *b = x->b;
    bool timed_out = b->timed_out;
    bool was_connecting = b->connecting || b->handshaking; /* TLS: connected once verified */
    bool was_handshaking = !b->connecting && b->handshaking;
    bool stale = b->reused && !x->resp_parsed && rp_buf_len(&b->in) == 0 && !timed_out;
    bool refused = b->refused && !x->resp_parsed; /* not processed: safe whatever the method */
    x->b = NULL;
    rp_bconn_close(b);
    /* a pooled connection the server had closed, or a refused stream, says nothing bad of it */
    rp_upstream_attempt_result(x, stale || refused ? RP_ATTEMPT_CANCELLED
                                  : timed_out      ? RP_ATTEMPT_TIMEOUT
                                  : was_connecting ? RP_ATTEMPT_CONNECT_FAIL
                                                   : RP_ATTEMPT_RESET);
    rp_upstream_attempt_close(x);
    if (x->resp_head_sent) {
        rp_exchange_fail(x);
        return;
    }
    if (was_connecting && body_replayable(x)) {
        if (timed_out || !was_handshaking) /* a handshake failure was logged with its reason */
            rp_log_warn("upstream %s: %s %s", x->upstream->name, x->upstream_addr,
                        timed_out ? "connect timed out" : "refused the connection");
        x->fail_status = timed_out ? 504 : 502;
        connect_next(x, false);
        return;
    }
    if ((stale || refused) && !x->retried_stale && may_retry_elsewhere(x, refused)) {
        x->retried_stale = true; /* the server closed a pooled connection: once more, fresh */
        connect_next(x, true);
        return;
    }
    if (timed_out)
        rp_log_warn("upstream %s: %s timed out", x->upstream->name, x->upstream_addr);
    else
        rp_log_warn("upstream %s: %s closed the connection before a complete response",
                    x->upstream->name, x->upstream_addr);
    x->fail_status = timed_out ? 504 : 502;
    if (!x->resp_parsed && may_retry_elsewhere(x, refused)) {
        connect_next(x, false); /* idempotent: another server may answer */
        return;
    }
    rp_exchange_error(x, x->fail_status);
}

static bool pump_request_body(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    struct rp_bconn *b = x->b;
    bool progress = false;
    const uint64_t max_body = x->cfg->limits.max_body_size;
    for (;;) {
        if (x->req_body.done) {
            /* the END event (last-chunk for chunked output) was written with the data */
            if (!x->req_sent)
                progress = true;
            x->req_sent = x->req_done = true;
            return progress;
        }
        size_t cap = b->out.cap > RP_BUF_SIZE ? b->out.cap : RP_BUF_SIZE;
        if (!rp_buf_reserve(&b->out, FRAME_ROOM + 1, cap))
            return progress; /* the backend is not taking more yet */
        if (rp_buf_len(&s->in) == 0) {
            ssize_t n = rp_session_fill(s);
            if (n > 0) {
                progress = true;
                continue;
            }
            if (n == 0)
                return progress;
        }
        size_t len = rp_buf_len(&s->in);
        size_t lim = rp_buf_room(&b->out) - FRAME_ROOM;
        if (lim > len)
            lim = len;
        enum rp_chunk_ev ev;
        struct rp_slice out;
        ssize_t r =
            rp_body_read(&x->req_body, rp_buf_rptr(&s->in), lim, s->eof && lim == len, &ev, &out);
        if (r < 0) {
            if (s->eof) {
                rp_session_drain(s, true); /* the client gave up inside its body */
                return true;
            }
            s->want_close = true;
            if (x->resp_head_sent)
                rp_exchange_fail(x);
            else
                rp_exchange_error(x, 400);
            return true;
        }
        if (r > 0)
            x->body_touched = true;
        rp_buf_consume(&s->in, (size_t)r);
        size_t mark = b->out.tail;
        if (ev == RP_CHUNK_TRAILER && rp_proxy_identity_line(x->cfg, out)) {
            progress = true; /* the client-certificate fields are rampart's, in trailers too */
            continue;
        }
        rp_body_write(&x->req_out, &b->out, ev, out);
        replay_keep(x, b->out.data + mark, b->out.tail - mark);
        if (max_body && x->req_body.total > max_body) {
            s->want_close = true;
            if (x->resp_head_sent)
                rp_exchange_fail(x);
            else
                rp_exchange_error(x, 413);
            return true;
        }
        if (r == 0 && ev == RP_CHUNK_NONE) {
            /* the decoder needs bytes beyond what is buffered */
            if (lim < len)
                return progress;
            ssize_t n = rp_session_fill(s);
            if (n <= 0 && !s->eof)
                return progress;
        }
        progress = true;
    }
}

/* Whether and how the body is compressed (src/filter/zfilter.h); a compressed body has no
 * length any more, so it is chunked (close-delimited for HTTP/1.0). False on OOM. */
static bool start_compression(struct rp_exchange *x, const struct rp_msg *resp,
                              enum rp_body_out *out)
{
    const struct rp_compress_conf *conf = x->route->compress;
    enum rp_coding c = rp_zfilter_choose(conf, &x->req, resp, &x->zvary);
    if (c == RP_CODING_IDENTITY)
        return true;
    x->zcoding = c;
    if (resp->body == RP_BODY_NONE) /* HEAD, or no body: the headers say what a GET gets */
        return true;
    *out = x->req.version >= 11 ? RP_OUT_CHUNKED : RP_OUT_CLOSE;
    x->zf = rp_zfilter_new(c, conf->level[c], *out);
    return x->zf != NULL;
}

static bool start_response(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    struct rp_msg *resp = &x->resp;
    if (resp->status == 101) {
        if (!x->upgrade) {
            backend_failed(x);
            return true;
        }
        if (!rp_proxy_write_response_head(x, resp, RP_OUT_NONE)) {
            rp_exchange_error(x, 502);
            return true;
        }
        x->status = 101;
        x->resp_head_sent = true;
        x->req_done = x->req_sent = true;
        s->state = RP_SS_TUNNEL;
        rp_timer_disarm(&x->w->loop, &x->b->timer);
        return true;
    }
    enum rp_body_out out;
    switch (resp->body) {
    case RP_BODY_NONE:
        out = RP_OUT_NONE;
        break;
    case RP_BODY_LENGTH:
        out = RP_OUT_LENGTH;
        break;
    default:
        out = x->req.version >= 11 ? RP_OUT_CHUNKED : RP_OUT_CLOSE;
        /* a transfer coding (gzip, ...) can only travel in Transfer-Encoding, which an HTTP/1.0
         * client does not read and HTTP/2 does not have: it would get coded bytes it cannot
         * tell apart */
        if ((out == RP_OUT_CLOSE || x->req.version >= 20) && rp_response_has_codings(resp)) {
            rp_log_warn(
                "upstream %s: %s sent a transfer coding an HTTP/1.0 or HTTP/2 client cannot take",
                x->upstream->name, x->upstream_addr);
            rp_exchange_error(x, 502);
            return true;
        }
        break;
    }
    if (x->route->compress && !start_compression(x, resp, &out)) {
        rp_exchange_error(x, 500);
        return true;
    }
    if (out == RP_OUT_CLOSE)
        s->want_close = true;
    struct rp_chunked *ch = NULL;
    if (resp->body == RP_BODY_CHUNKED && !(ch = rp_arena_alloc(&x->arena, sizeof(*ch)))) {
        rp_exchange_error(x, 502);
        return true;
    }
    if (!rp_proxy_write_response_head(x, resp, out)) {
        rp_exchange_error(x, 502);
        return true;
    }
    rp_body_reader_init(&x->resp_body, resp->body, resp->content_length, ch);
    x->resp_out.kind = out;
    x->status = resp->status;
    x->resp_head_sent = true;
    return true;
}

static bool pump_response_head(struct rp_exchange *x)
{
    struct rp_bconn *b = x->b;
    const struct rp_config *cfg = x->cfg;
    bool progress = false;
    for (;;) {
        if (rp_buf_len(&b->in)) {
            static _Thread_local struct rp_header hdrs[1024];
            struct rp_msg m = {.hdrs = hdrs, .cap_hdrs = 1024};
            struct rp_h1_limits lim = {
                .max_request_line = cfg->limits.max_request_line,
                .max_head = cfg->limits.max_request_line + cfg->limits.max_header_size,
                .max_headers = 1024,
            };
            ssize_t r = rp_h1_parse_response(rp_buf_rptr(&b->in), rp_buf_len(&b->in), &m,
                                             x->req.meth, &lim, &x->resp_hint);
            if (r < 0) {
                rp_log_warn("upstream %s: %s sent a malformed response head", x->upstream->name,
                            x->upstream_addr);
                b->eof = true;
                b->reused = false;
                backend_failed(x);
                return true;
            }
            if (r > 0) {
                x->resp_hint = 0;
                if (m.status < 200 && m.status != 101) {
                    rp_buf_consume(&b->in, (size_t)r); /* interim responses are not relayed */
                    progress = true;
                    continue;
                }
                /* out of b->in, which the body will reuse */
                if (!rp_msg_keep(&x->arena, &x->resp, &m, rp_buf_rptr(&b->in), (size_t)r)) {
                    rp_exchange_error(x, 502);
                    return true;
                }
                rp_buf_consume(&b->in, (size_t)r);
                x->resp_parsed = true;
                rp_upstream_attempt_result(x,
                                           x->resp.status >= 500 ? RP_ATTEMPT_5XX : RP_ATTEMPT_OK);
                return start_response(x);
            }
        }
        size_t max = cfg->limits.max_request_line + cfg->limits.max_header_size + 4;
        ssize_t n = rp_bconn_fill(b, max);
        if (n > 0) {
            progress = true;
            x->backend_progress = true;
            continue;
        }
        if (n < 0 || (rp_buf_room(&b->in) == 0 && b->in.cap >= max)) {
            backend_failed(x);
            return true;
        }
        return progress;
    }
}

/* The whole body was read (and written into the client's output): the exchange's response is
 * done. True when this call marked it. */
static bool finish_response_body(struct rp_exchange *x)
{
    if (x->resp_done)
        return false;
    x->resp_done = true;
    /* answered before the whole request body arrived (an early 413, say): the rest of the
     * body cannot be told from a next request, so the connection ends */
    if (!x->req_done)
        x->s->want_close = true;
    x->upstream_us = rp_clock_mono_us() - x->upstream_start_us;
    rp_timer_disarm(&x->w->loop, &x->b->timer);
    return true;
}

/* The response body through the compression filter: its framed output drains to the client
 * before the next backend event is fed; when the backend pauses, what was compressed so far
 * is flushed so that a streamed response keeps moving. */
static bool pump_compressed_body(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    struct rp_bconn *b = x->b;
    struct rp_buf *zo = rp_zfilter_output(x->zf);
    bool progress = false;
    for (;;) {
        if (rp_buf_len(zo)) {
            if (!rp_session_out_room(s, 1)) {
                x->paused_on_client = true;
                return progress;
            }
            size_t n =
                rp_buf_len(zo) < rp_buf_room(&s->out) ? rp_buf_len(zo) : rp_buf_room(&s->out);
            rp_buf_put(&s->out, rp_buf_rptr(zo), n);
            rp_buf_consume(zo, n);
            progress |= n > 0;
            if (rp_buf_len(zo)) {
                x->paused_on_client = true;
                return progress;
            }
        }
        if (x->resp_body.done && !x->zended) {
            /* a body with a length ends with its last byte, without an end event */
            if (!rp_zfilter_feed(x->zf, RP_CHUNK_END, (struct rp_slice){NULL, 0}, false))
                goto failed;
            x->zended = progress = true;
            continue;
        }
        if (x->resp_body.done)
            return finish_response_body(x) || progress;
        if (rp_buf_len(&b->in) == 0) {
            ssize_t n = rp_bconn_fill(b, RP_BUF_SIZE);
            if (n > 0) {
                x->backend_progress = progress = true;
                continue;
            }
            if (n == 0) {
                if (!x->zdirty)
                    return progress;
                goto flush;
            }
        }
        enum rp_chunk_ev ev;
        struct rp_slice out;
        size_t len = rp_buf_len(&b->in);
        ssize_t r = rp_body_read(&x->resp_body, rp_buf_rptr(&b->in), len, b->eof, &ev, &out);
        if (r < 0) {
            rp_log_warn("upstream %s: %s sent a truncated or malformed body", x->upstream->name,
                        x->upstream_addr);
            rp_exchange_fail(x);
            return true;
        }
        if (ev != RP_CHUNK_NONE && !rp_zfilter_feed(x->zf, ev, out, false))
            goto failed;
        x->zdirty |= ev == RP_CHUNK_DATA;
        x->zended |= ev == RP_CHUNK_END;
        rp_buf_consume(&b->in, (size_t)r);
        if (r == 0 && ev == RP_CHUNK_NONE) { /* the decoder needs more than is buffered */
            ssize_t n = rp_bconn_fill(b, RP_BUF_SIZE);
            if (n == 0) {
                if (!x->zdirty)
                    return progress;
                goto flush;
            }
            if (n > 0)
                x->backend_progress = true;
        }
        progress = true;
        continue;
    flush:
        x->zdirty = false; /* the backend paused: let the client decode what came so far */
        if (!rp_zfilter_feed(x->zf, RP_CHUNK_NONE, (struct rp_slice){NULL, 0}, true))
            goto failed;
        progress = true;
    }
failed:
    rp_log_error("upstream %s: compressing the response failed", x->upstream->name);
    rp_exchange_fail(x);
    return true;
}

static bool pump_response_body(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    struct rp_bconn *b = x->b;
    bool progress = false;
    if (x->zf)
        return pump_compressed_body(x);
    for (;;) {
        if (x->resp_body.done)
            return finish_response_body(x) || progress;
        if (!rp_session_out_room(s, FRAME_ROOM + 1)) {
            x->paused_on_client = true;
            return progress;
        }
        if (rp_buf_len(&b->in) == 0) {
            ssize_t n = rp_bconn_fill(b, RP_BUF_SIZE);
            if (n > 0) {
                x->backend_progress = true;
                progress = true;
                continue;
            }
            if (n == 0)
                return progress;
        }
        size_t len = rp_buf_len(&b->in);
        size_t lim = rp_buf_room(&s->out) - FRAME_ROOM;
        if (lim > len)
            lim = len;
        enum rp_chunk_ev ev;
        struct rp_slice out;
        ssize_t r =
            rp_body_read(&x->resp_body, rp_buf_rptr(&b->in), lim, b->eof && lim == len, &ev, &out);
        if (r < 0) {
            rp_log_warn("upstream %s: %s sent a truncated or malformed body", x->upstream->name,
                        x->upstream_addr);
            rp_exchange_fail(x);
            return true;
        }
        rp_buf_consume(&b->in, (size_t)r);
        rp_body_write(&x->resp_out, &s->out, ev, out);
        if (r == 0 && ev == RP_CHUNK_NONE) {
            if (lim < len)
                return progress;
            ssize_t n = rp_bconn_fill(b, RP_BUF_SIZE);
            if (n == 0)
                return progress;
        }
        progress = true;
    }
}

/* Move bytes from one buffer to another, bounded by the destination's standard size. */
static bool move_bytes(struct rp_buf *from, struct rp_buf *to)
{
    size_t len = rp_buf_len(from);
    if (!len || !rp_buf_reserve(to, 1, to->cap > RP_BUF_SIZE ? to->cap : RP_BUF_SIZE))
        return false;
    size_t n = len < rp_buf_room(to) ? len : rp_buf_room(to);
    rp_buf_put(to, rp_buf_rptr(from), n);
    rp_buf_consume(from, n);
    return n > 0;
}

static bool tunnel_step(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    struct rp_bconn *b = x->b;
    bool progress = false, p;
    int err = 0;
    do {
        p = false;
        if (rp_buf_len(&s->in) == 0)
            p |= rp_session_fill(s) > 0;
        p |= move_bytes(&s->in, &b->out);
        p |= rp_bconn_flush(b, &err);
        if (rp_buf_len(&b->in) == 0)
            p |= rp_bconn_fill(b, RP_BUF_SIZE) > 0;
        p |= move_bytes(&b->in, &s->out);
        p |= rp_session_flush(s);
        if (s->closed)
            return true;
        progress |= p;
    } while (p && !err);
    /* a FIN is passed on as a half-close once everything before it was delivered; the tunnel
     * ends when both directions are finished (or on an error) */
    bool client_done = s->eof && rp_buf_len(&s->in) == 0 && rp_buf_len(&b->out) == 0;
    bool backend_done = b->eof && rp_buf_len(&b->in) == 0 && rp_buf_len(&s->out) == 0;
    if (client_done && !x->tunnel_fin_to_backend) {
        if (b->ssl)
            SSL_shutdown(b->ssl); /* close_notify first: a TLS peer reads it as the end */
        shutdown(b->io.fd, SHUT_WR);
        x->tunnel_fin_to_backend = true;
    }
    if (backend_done && !x->tunnel_fin_to_client) {
        shutdown(s->io.fd, SHUT_WR);
        x->tunnel_fin_to_client = true;
    }
    if (err || b->error || (client_done && backend_done)) {
        rp_session_drain(s, true);
        return true;
    }
    return progress;
}

bool rp_proxy_step(struct rp_exchange *x)
{
    struct rp_bconn *b = x->b;
    struct rp_session *s = x->s;
    if (!b)
        return false;
    bool progress = false;
    if (b->connecting) {
        if (!b->can_write && !b->eof)
            return false;
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (b->eof || getsockopt(b->io.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
            backend_failed(x);
            return true;
        }
        b->connecting = false;
        if (!b->handshaking) /* TLS: the connect timeout covers the handshake too */
            rp_timer_arm(&x->w->loop, &b->timer, wait_timeout(x));
        progress = true;
    }
    if (b->handshaking) {
        char why[256];
        int r = b->eof ? -1 : rp_bconn_handshake(b, why, sizeof(why));
        if (r == 0)
            return progress;
        if (r < 0) {
            if (!b->eof)
                rp_log_warn("upstream %s: %s: TLS handshake failed: %s", x->upstream->name,
                            x->upstream_addr, why);
            backend_failed(x);
            return true;
        }
        rp_timer_arm(&x->w->loop, &b->timer, wait_timeout(x));
        progress = true;
    }
    if (s->state == RP_SS_TUNNEL)
        return tunnel_step(x) || progress;
    x->backend_progress = false;
    x->paused_on_client = false;
    if (!x->req_sent) {
        progress |= pump_request_body(x);
        if (s->closed || x->b != b)
            return true;
    }
    int err = 0;
    if (rp_bconn_flush(b, &err)) {
        progress = true;
        x->backend_progress = true;
    }
    if (err) {
        /* the backend stopped reading: it may still have answered, so read what it sent */
        b->can_read = true;
        if (!x->resp_parsed && rp_bconn_fill(b, RP_BUF_SIZE) <= 0 && rp_buf_len(&b->in) == 0) {
            backend_failed(x);
            return true;
        }
        b->out.head = b->out.tail = 0;
        x->req_sent = true; /* nothing more can be sent */
        s->want_close = true;
    }
    if (!x->resp_parsed) {
        progress |= pump_response_head(x);
        if (s->closed || x->b != b || s->state == RP_SS_TUNNEL)
            return true;
        if (!x->resp_parsed)
            goto timer;
    }
    if (x->resp_parsed && x->handler == RP_H_PROXY)
        progress |= pump_response_body(x);
    if (s->closed || x->b != b)
        return true;
timer:
    if (!x->resp_done) {
        /* the backend has all we had and waits for the client's body: the client's body
         * timeout runs, and a slow client says nothing about the server */
        bool waiting_on_client =
            !x->req_sent && rp_buf_len(&b->out) == 0 && rp_buf_len(&s->in) == 0;
        if (x->paused_on_client || waiting_on_client)
            rp_timer_disarm(&x->w->loop, &b->timer);
        else if (x->backend_progress || !rp_timer_armed(&b->timer))
            rp_timer_arm(&x->w->loop, &b->timer, wait_timeout(x));
    }
    return progress;
}

void rp_proxy_release(struct rp_exchange *x, bool abort)
{
    struct rp_bconn *b = x->b;
    rp_zfilter_free(x->zf);
    x->zf = NULL;
    rp_upstream_exchange_end(x); /* the exchange is over (or answered locally): counters */
    if (!b)
        return;
    x->b = NULL;
    bool reusable = !abort && x->resp_done && x->req_sent && x->resp.keep_alive &&
                    x->resp_body.kind != RP_BODY_CLOSE && x->status != 101;
    rp_bconn_release(b, x->upstream, reusable);
}
