/* Body reader and writer for HTTP/1 framing. */
#include "http/body.h"

#include <stdio.h>

void rp_body_reader_init(struct rp_body_reader *r, enum rp_body_kind kind, uint64_t length,
                         struct rp_chunked *chunked)
{
    r->kind = kind;
    r->remaining = length;
    r->total = 0;
    r->chunked = chunked;
    r->done = kind == RP_BODY_NONE || (kind == RP_BODY_LENGTH && length == 0);
    if (kind == RP_BODY_CHUNKED)
        rp_chunked_init(chunked, 0, 0);
}

ssize_t rp_body_read(struct rp_body_reader *r, const char *in, size_t n, bool eof,
                     enum rp_chunk_ev *ev, struct rp_slice *out)
{
    *ev = RP_CHUNK_NONE;
    *out = RP_SLICE_NULL;
    if (r->done) {
        *ev = RP_CHUNK_END;
        return 0;
    }
    switch (r->kind) {
    case RP_BODY_NONE:
        r->done = true;
        *ev = RP_CHUNK_END;
        return 0;
    case RP_BODY_LENGTH: {
        if (n == 0)
            return eof ? -400 : 0;
        size_t take = n < r->remaining ? n : (size_t)r->remaining;
        r->remaining -= take;
        r->total += take;
        *ev = RP_CHUNK_DATA;
        *out = (struct rp_slice){in, take};
        if (r->remaining == 0)
            r->done = true;
        return (ssize_t)take;
    }
    case RP_BODY_CLOSE:
        if (n == 0) {
            if (eof) {
                r->done = true;
                *ev = RP_CHUNK_END;
            }
            return 0;
        }
        r->total += n;
        *ev = RP_CHUNK_DATA;
        *out = (struct rp_slice){in, n};
        return (ssize_t)n;
    case RP_BODY_CHUNKED: {
        ssize_t used = rp_chunked_decode(r->chunked, in, n, ev, out);
        if (used < 0)
            return used;
        if (*ev == RP_CHUNK_DATA)
            r->total += out->n;
        else if (*ev == RP_CHUNK_END)
            r->done = true;
        else if (used == 0 && eof)
            return -400;
        return used;
    }
    }
    return -400;
}

/* Fields that frame, route, authenticate or control the message must not come from a trailer
 * (RFC 9110 6.5.1): a recipient that merged them into the head could be smuggled to. */
bool rp_trailer_allowed(struct rp_slice line)
{
    static const char *const denied[] = {
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "content-type",
        "content-encoding",
        "content-range",
        "cache-control",
        "max-forwards",
        "range",
        "proxy-connection",
    };
    const char *colon = memchr(line.p, ':', line.n);
    if (!colon)
        return false;
    struct rp_slice name = {line.p, (size_t)(colon - line.p)};
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
        if (rp_slice_case_eq_cstr(name, denied[i]))
            return false;
    return true;
}

void rp_body_write(struct rp_body_writer *w, struct rp_buf *out, enum rp_chunk_ev ev,
                   struct rp_slice data)
{
    if (w->kind == RP_OUT_NONE)
        return;
    switch (ev) {
    case RP_CHUNK_DATA:
        if (data.n == 0)
            return;
        if (w->kind == RP_OUT_CHUNKED) {
            char line[24];
            int k = snprintf(line, sizeof(line), "%zx\r\n", data.n);
            rp_buf_put(out, line, (size_t)k);
            rp_buf_put(out, data.p, data.n);
            rp_buf_put(out, "\r\n", 2);
        } else {
            rp_buf_put(out, data.p, data.n);
        }
        return;
    case RP_CHUNK_TRAILER:
    case RP_CHUNK_END:
        if (w->kind != RP_OUT_CHUNKED || (ev == RP_CHUNK_TRAILER && !rp_trailer_allowed(data)))
            return;
        if (!w->last_chunk_sent) {
            rp_buf_put(out, "0\r\n", 3);
            w->last_chunk_sent = true;
        }
        if (ev == RP_CHUNK_TRAILER)
            rp_buf_put(out, data.p, data.n);
        rp_buf_put(out, "\r\n", 2);
        return;
    case RP_CHUNK_NONE:
        return;
    }
}
