/* HTTP/2 client connections: the nghttp2 server session, its callbacks, the connection pump
 * with back-pressure (frames are produced only while the socket's output buffer has room), the
 * defences (stream caps, resets, header sizes, floods), idle timeout and GOAWAY on drain. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "h2/h2_server_int.h"
#include "proxy/session.h"

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define PREFACE_LEN (sizeof(PREFACE) - 1)
#define RESET_PERIOD_MS 10000

int rp_h2_preface_match(const char *buf, size_t n)
{
    size_t k = n < PREFACE_LEN ? n : PREFACE_LEN;
    if (memcmp(buf, PREFACE, k) != 0)
        return -1;
    return n >= PREFACE_LEN ? 1 : 0;
}

/* End the connection: GOAWAY with code, then close once it is written. */
static void terminate(struct rp_h2_conn *c, uint32_t code)
{
    if (c->closing)
        return;
    c->closing = true;
    nghttp2_session_terminate_session(c->ng, code);
    rp_session_kick(c->s);
}

static struct rp_h2_stream *stream_of(nghttp2_session *ng, int32_t id)
{
    return nghttp2_session_get_stream_user_data(ng, id);
}

/* ---- nghttp2 callbacks (never close the connection from inside one) ---- */

static ssize_t send_cb(nghttp2_session *ng, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)ng, (void)flags;
    struct rp_h2_conn *c = ud;
    struct rp_session *s = c->s;
    /* one buffer of frames at most: a client that does not read stops the streams' output */
    if (rp_buf_len(&s->out) >= RP_BUF_SIZE || !rp_session_out_room(s, 1))
        return NGHTTP2_ERR_WOULDBLOCK;
    size_t n = len < rp_buf_room(&s->out) ? len : rp_buf_room(&s->out);
    rp_buf_put(&s->out, data, n);
    return (ssize_t)n;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    struct rp_h2_conn *c = ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    int32_t id = frame->hd.stream_id;
    /* nghttp2 enforces the advertised limit on open streams. This cap also counts streams that
     * are closed for the client (fully answered, or reset by it) but whose exchange is still
     * ending, which bounds the work a rapid-reset client can leave behind; it has the slack of
     * one more window, since a client may open the next stream as soon as it has read the last
     * frame of one whose virtual session closes a moment later. */
    if (c->nlive >= 2 * c->max_streams || c->draining) {
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    struct rp_h2_stream *st = rp_h2_stream_new(c, id);
    if (!st) {
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
        return 0;
    }
    nghttp2_session_set_stream_user_data(ng, id, st);
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    (void)flags;
    struct rp_h2_conn *c = ud;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct rp_h2_stream *st = stream_of(ng, frame->hd.stream_id);
    if (st && rp_h2_stream_header(st, name, nlen, value, vlen) < 0) {
        rp_log_warn("client %s: HTTP/2 header list far over its limit (HPACK bomb?): closing",
                    c->s->peer_ip);
        terminate(c, NGHTTP2_ENHANCE_YOUR_CALM);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static void count_reset(struct rp_h2_conn *c)
{
    uint64_t now = c->s->w->loop.now;
    if (now - c->reset_epoch >= RESET_PERIOD_MS) {
        c->reset_epoch = now;
        c->resets = 0;
    }
    if (++c->resets > c->max_resets) {
        rp_log_warn("client %s: more than %u HTTP/2 stream resets in 10 s: closing", c->s->peer_ip,
                    c->max_resets);
        terminate(c, NGHTTP2_ENHANCE_YOUR_CALM);
    }
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    struct rp_h2_conn *c = ud;
    struct rp_h2_stream *st = frame->hd.stream_id ? stream_of(ng, frame->hd.stream_id) : NULL;
    bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        if (!st || st->vs_closed)
            break;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
            rp_h2_stream_head_done(st, end);
        else if (end)
            rp_h2_stream_end(st); /* a trailer section: its fields are not forwarded */
        break;
    case NGHTTP2_DATA:
        if (st && end && !st->vs_closed)
            rp_h2_stream_end(st);
        break;
    case NGHTTP2_RST_STREAM:
        if (st && !st->resp_eof)
            count_reset(c); /* a stream given up before its answer: cheap for the client only */
        break;
    default:
        break;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    (void)flags, (void)ud;
    struct rp_h2_stream *st = stream_of(ng, id);
    if (st)
        rp_h2_stream_data(st, data, len);
    else
        nghttp2_session_consume(ng, id, len);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error_code, void *ud)
{
    (void)ud;
    struct rp_h2_stream *st = stream_of(ng, id);
    if (st) {
        nghttp2_session_set_stream_user_data(ng, id, NULL);
        rp_h2_stream_on_close(st, error_code);
    }
    return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    struct rp_h2_conn *c = ud;
    /* resets the client provokes (a DATA frame past content-length, a window overrun, frames
     * on a closed stream: nghttp2 answers them with RST_STREAM) end streams whose exchange may
     * already have reached a backend, as cheaply as its own RST_STREAM would: they count
     * against max_resets too. rampart's own resets (NO_ERROR, CANCEL, INTERNAL_ERROR) and
     * refused streams (no work started) do not. */
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
        uint32_t code = frame->rst_stream.error_code;
        if (code != NGHTTP2_NO_ERROR && code != NGHTTP2_CANCEL && code != NGHTTP2_INTERNAL_ERROR &&
            code != NGHTTP2_REFUSED_STREAM)
            count_reset(c);
    }
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        struct rp_h2_stream *st = stream_of(ng, frame->hd.stream_id);
        if (st)
            rp_h2_stream_on_end_sent(st);
    }
    return 0;
}

static int on_error(nghttp2_session *ng, int code, const char *msg, size_t len, void *ud)
{
    (void)ng, (void)code;
    struct rp_h2_conn *c = ud;
    rp_log_debug("client %s: HTTP/2: %.*s", c->s->peer_ip, (int)len, msg);
    return 0;
}

/* ---- start ---- */

static nghttp2_session *session_new(struct rp_h2_conn *c)
{
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    nghttp2_session *ng = NULL;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return NULL;
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cb);
        return NULL;
    }
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_error_callback2(cb, on_error);
    /* flow control is back-pressure: windows reopen only for bytes the exchanges took */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    /* SETTINGS and PING floods: queued ACKs are bounded (and our output is) */
    nghttp2_option_set_max_outbound_ack(opt, 1000);
    nghttp2_option_set_max_settings(opt, 32);
    /* CONTINUATION floods: a header block may not have more frames than its size needs */
    nghttp2_option_set_max_continuations(opt, c->max_list / 16384 + 8);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
    nghttp2_option_set_no_closed_streams(opt, 1);
    if (nghttp2_session_server_new2(&ng, cb, c, opt) != 0)
        ng = NULL;
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    return ng;
}

bool rp_h2_server_start(struct rp_session *s)
{
    const struct rp_config *cfg = s->w->slot->cfg;
    struct rp_h2_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return false;
    c->s = s;
    c->max_streams = cfg->http2.max_concurrent_streams;
    c->window = cfg->http2.initial_window;
    c->max_resets = cfg->http2.max_resets;
    c->max_headers = cfg->limits.max_headers;
    c->max_list = cfg->limits.max_request_line + cfg->limits.max_header_size;
    c->max_fields = cfg->limits.max_header_size;
    c->max_target = cfg->limits.max_request_line;
    c->send_timeout = cfg->timeouts.send;
    c->keepalive_timeout = cfg->timeouts.keepalive;
    c->idle_since = s->w->loop.now;
    c->reset_epoch = s->w->loop.now;
    if (!(c->ng = session_new(c))) {
        free(c);
        return false;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, c->max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, c->window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)c->max_list},
        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 4096},
    };
    /* the connection window: a few streams can upload at full speed; memory stays bounded by
     * it whatever the number of streams */
    uint64_t conn_window = (uint64_t)c->window * 8;
    if (conn_window < (1u << 20))
        conn_window = 1u << 20;
    if (conn_window > 0x7fffffff)
        conn_window = 0x7fffffff;
    if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0 ||
        nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0, (int32_t)conn_window) !=
            0) {
        nghttp2_session_del(c->ng);
        free(c);
        return false;
    }
    s->h2 = c;
    s->state = RP_SS_EXCHANGE; /* reads in standard buffers; the states of HTTP/1 are unused */
    s->nrequests++;
    return true;
}

/* ---- the pump ---- */

static void arm_timer(struct rp_h2_conn *c)
{
    struct rp_session *s = c->s;
    uint64_t t = 0;
    if ((rp_buf_len(&s->out) && !s->can_write) || c->closing)
        t = c->send_timeout; /* a client not reading, or a GOAWAY that does not go out */
    else if (c->nlive == 0) {
        uint64_t end = c->idle_since + c->keepalive_timeout, now = s->w->loop.now;
        t = end > now ? end - now : 1;
    } else
        for (struct rp_h2_stream *st = c->streams; st; st = st->next)
            if (!st->began && !st->vs_closed)
                t = s->w->slot->cfg->timeouts.header; /* a header block still arriving */
    if (t)
        rp_timer_arm(&s->w->loop, &s->timer, t);
    else
        rp_timer_disarm(&s->w->loop, &s->timer);
}

void rp_h2_conn_run(struct rp_session *s)
{
    struct rp_h2_conn *c = s->h2;
    if (s->closed)
        return;
    int rounds = 0;
    for (; rounds < 64; rounds++) {
        bool progress = false;
        if (rp_buf_len(&s->in) && !c->closing) {
            ssize_t r = nghttp2_session_mem_recv(c->ng, (const uint8_t *)rp_buf_rptr(&s->in),
                                                 rp_buf_len(&s->in));
            if (r < 0) {
                rp_log_debug("client %s: HTTP/2 input refused: %s", s->peer_ip,
                             nghttp2_strerror((int)r));
                terminate(c, r == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM
                                                      : NGHTTP2_PROTOCOL_ERROR);
            }
            progress = true;
        }
        if (c->closing)
            s->in.head = s->in.tail = 0; /* nothing more is read */
        else
            rp_buf_consume(&s->in, rp_buf_len(&s->in)); /* nghttp2 took all of it */
        for (struct rp_h2_stream *st = c->streams; st; st = st->next)
            if (!st->vs_closed)
                rp_h2_stream_ack(st);
        if (nghttp2_session_want_write(c->ng) && nghttp2_session_send(c->ng) != 0) {
            rp_session_drain(s, true);
            return;
        }
        if (rp_buf_len(&s->out) && s->can_write) {
            progress |= rp_session_flush(s);
            if (s->closed)
                return;
        }
        /* read only while our output drains: what a client sends may make us write (ACKs,
         * answers), and a client that does not read must not make that grow */
        if (!c->closing && nghttp2_session_want_read(c->ng) &&
            rp_buf_len(&s->out) < RP_BUF_SIZE / 2) {
            ssize_t n = rp_session_fill(s);
            if (n < 0) {
                rp_session_drain(s, true); /* the client closed the connection */
                return;
            }
            progress |= n > 0;
        }
        if (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng) &&
            rp_buf_len(&s->out) == 0 && (c->nlive == 0 || c->closing)) {
            /* GOAWAY sent and nothing left to answer: a client still sending must read the
             * GOAWAY, not a reset caused by closing with its bytes unread */
            rp_session_end_linger(s);
            return;
        }
        if (!progress)
            break;
    }
    if (rounds == 64)
        rp_session_kick(s);
    if (rp_buf_len(&s->out) == 0 && s->out.data)
        rp_buf_release(&s->out);
    if (rp_buf_len(&s->in) == 0 && s->in.data && !s->can_read)
        rp_buf_release(&s->in);
    arm_timer(c);
}

void rp_h2_conn_drain(struct rp_session *s)
{
    struct rp_h2_conn *c = s->h2;
    if (c->draining || c->closing)
        return;
    c->draining = true;
    /* streams up to the last one taken are answered; later ones the client may retry */
    nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->ng),
                          NGHTTP2_NO_ERROR, NULL, 0);
    rp_session_kick(s);
}

void rp_h2_conn_timeout(struct rp_session *s)
{
    struct rp_h2_conn *c = s->h2;
    if (c->closing || (rp_buf_len(&s->out) && !s->can_write)) {
        rp_session_drain(s, true);
        return;
    }
    terminate(c, NGHTTP2_NO_ERROR); /* idle, or a header block that does not end */
    rp_h2_conn_run(s);
}

void rp_h2_conn_close(struct rp_session *s)
{
    struct rp_h2_conn *c = s->h2;
    if (!c)
        return;
    c->dead = true;
    for (struct rp_h2_stream *st = c->streams, *next; st; st = next) {
        next = st->next;
        if (!st->vs_closed)
            rp_session_drain(&st->vs, true); /* aborts its exchange, then frees it */
        else
            rp_h2_stream_free_later(st);
    }
    nghttp2_session_del(c->ng);
    free(c);
    s->h2 = NULL;
}
