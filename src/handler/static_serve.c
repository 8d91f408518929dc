/* Serving a static file: the head from rp_static_resolve's decision, then the bytes with
 * sendfile straight from the page cache to the client socket (or read into the session's
 * output buffer for TLS and HTTP/2, where rampart must encrypt or frame them). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "core/clock.h"
#include "handler/static_file.h"
#include "proxy/exchange_run.h"
#include "proxy/session.h"

static bool write_file_head(struct rp_exchange *x, const struct rp_static_result *res)
{
    struct rp_session *s = x->s;
    if (!x->req_done)
        s->want_close = true;
    /* + Last-Modified, ETag, Accept-Ranges, Content-Length, Content-Range: under 512 bytes */
    if (!rp_session_out_piece(s, rp_local_head_size(x, res->mime) + 512))
        return false;
    char *p = rp_buf_wptr(&s->out);
    size_t cap = rp_buf_room(&s->out);
    size_t n = rp_local_head_begin(x, res->status, res->status != 304 ? res->mime : NULL, p, cap);
    n += rp_fitted(snprintf(p + n, cap - n,
                            "Last-Modified: %s\r\nETag: %s\r\nAccept-Ranges: bytes\r\n",
                            res->last_modified, res->etag),
                   cap - n);
    if (res->status != 304) {
        n += rp_fitted(
            snprintf(p + n, cap - n, "Content-Length: %llu\r\n", (unsigned long long)res->length),
            cap - n);
    }
    if (res->status == 206) {
        n += rp_fitted(snprintf(p + n, cap - n, "Content-Range: %s\r\n", res->content_range),
                       cap - n);
    }
    n += rp_local_head_end(x, p + n, cap - n);
    s->out.tail += n;
    x->status = res->status;
    x->resp_head_sent = true;
    return true;
}

void rp_static_start(struct rp_exchange *x)
{
    struct rp_static_result res;
    x->handler = RP_H_STATIC;
    rp_static_resolve(&x->route->static_files, x->path, x->req.query, &x->req, &res);
    char extra[1200];
    switch (res.status) {
    case 200:
    case 206:
    case 304:
        if (!write_file_head(x, &res)) {
            if (res.fd >= 0)
                close(res.fd);
            rp_session_drain(x->s, true); /* out of memory: x is gone with the session */
            return;
        }
        if (res.status == 304 || res.head_only || res.length == 0) {
            if (res.fd >= 0)
                close(res.fd);
            x->resp_done = true;
            return;
        }
        x->file_fd = res.fd;
        x->file_off = res.offset;
        x->file_left = res.length;
        return;
    case 301:
        /* the client's view of the path: before strip_prefix/add_prefix */
        if (x->route->strip_prefix || x->route->add_prefix) {
            struct rp_slice p = x->norm_path;
            while (p.n > 1 && p.p[1] == '/') { /* "//host/..." would leave the site */
                p.p++;
                p.n--;
            }
            snprintf(extra, sizeof(extra), "Location: %.*s/%s%.*s\r\n", RP_SLICE_FMT(p),
                     x->req.query.p ? "?" : "", RP_SLICE_FMT(x->req.query));
        } else
            snprintf(extra, sizeof(extra), "Location: %s\r\n", res.location);
        rp_exchange_local_response(x, 301, NULL, NULL, 0, extra);
        return;
    case 405:
        rp_exchange_local_response(x, 405, NULL, NULL, 0, "Allow: GET, HEAD\r\n");
        return;
    case 416:
        snprintf(extra, sizeof(extra), "Content-Range: %s\r\n", res.content_range);
        rp_exchange_local_response(x, 416, NULL, NULL, 0, extra);
        return;
    default:
        rp_exchange_error(x, res.status);
        return;
    }
}

static bool file_done(struct rp_exchange *x)
{
    close(x->file_fd);
    x->file_fd = -1;
    x->resp_done = true;
    return true;
}

/* TLS sessions and HTTP/2 streams: the bytes must pass through the session's output buffer
 * (encrypted or framed there), so the file is read into it while it has room. */
static bool read_step(struct rp_exchange *x, bool progress)
{
    struct rp_session *s = x->s;
    while (x->file_left && rp_session_out_room(s, 1)) {
        size_t room = rp_buf_room(&s->out);
        size_t want = x->file_left < room ? (size_t)x->file_left : room;
        ssize_t n = pread(x->file_fd, rp_buf_wptr(&s->out), want, (off_t)x->file_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rp_exchange_fail(x); /* the file shrank under us or cannot be read */
            return true;
        }
        s->out.tail += (size_t)n;
        x->file_off += (uint64_t)n;
        x->file_left -= (uint64_t)n;
        progress = true;
        if (!s->can_write && s->io.fd >= 0)
            break; /* the socket is full: wait for it rather than filling more */
        if (rp_buf_len(&s->out) && s->io.fd >= 0) {
            rp_session_flush(s);
            if (s->closed)
                return true;
        }
    }
    if (!x->file_left)
        return file_done(x);
    return progress;
}

bool rp_static_step(struct rp_exchange *x)
{
    struct rp_session *s = x->s;
    if (x->resp_done || x->file_fd < 0)
        return false;
    bool progress = false;
    if (rp_buf_len(&s->out)) {
        progress |= rp_session_flush(s);
        if (s->closed || rp_buf_len(&s->out))
            return progress;
    }
    if (s->ssl || s->io.fd < 0)
        return read_step(x, progress);
    while (x->file_left && s->can_write) {
        off_t off = (off_t)x->file_off;
        size_t want = x->file_left < (1u << 20) ? (size_t)x->file_left : (1u << 20);
        ssize_t n = sendfile(s->io.fd, x->file_fd, &off, want);
        if (n > 0) {
            x->file_off += (uint64_t)n;
            x->file_left -= (uint64_t)n;
            s->bytes_written += (uint64_t)n;
            progress = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            s->can_write = false;
            break;
        }
        rp_exchange_fail(x); /* the file shrank under us, or the client went away */
        return true;
    }
    if (!x->file_left)
        return file_done(x);
    return progress;
}
