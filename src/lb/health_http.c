/* The HTTP side of active health checks (see health_http.h): request building and a response
 * reader built on the h1 response parser and the chunked decoder, so a check judges a
 * response exactly as the proxy would frame it. */
#include "lb/health_http.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1_parse.h"

bool rp_hc_status_ok(const struct rp_health_conf *h, int status)
{
    if (!h->nstatus)
        return status >= 200 && status <= 399;
    for (uint32_t i = 0; i < h->nstatus; i++)
        if (status >= h->status[i].lo && status <= h->status[i].hi)
            return true;
    return false;
}

static unsigned addr_port(const struct rp_sockaddr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}

const char *rp_hc_host(const struct rp_upstream_conf *u, const struct rp_server_conf *srv,
                       const struct rp_sockaddr *addr, char *buf, size_t n)
{
    if (u->health && u->health->host)
        return u->health->host;
    if (u->host_header)
        return u->host_header;
    if (srv->host) {
        unsigned port = srv->resolve && srv->port ? srv->port : addr_port(addr);
        int w = snprintf(buf, n, "%s:%u", srv->host, port);
        if (w > 0 && (size_t)w < n)
            return buf;
    }
    return addr->text;
}

/* Bytes that may appear in a request-line token or target: visible ASCII. */
static bool visible(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return *s != '\0';
}

size_t rp_hc_request(const struct rp_upstream_conf *u, const struct rp_server_conf *srv,
                     const struct rp_sockaddr *addr, char *out, size_t cap)
{
    const struct rp_health_conf *h = u->health;
    const char *method = h && h->method ? h->method : "GET";
    const char *path = h && h->path ? h->path : "/";
    char hbuf[300];
    const char *host = rp_hc_host(u, srv, addr, hbuf, sizeof(hbuf));
    /* config values reach the wire: nothing that could split or smuggle a line */
    if (!visible(method) || !visible(path) || !visible(host))
        return 0;
    int w = snprintf(out, cap,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: rampart-health-check\r\n"
                     "Connection: close\r\n\r\n",
                     method, path, host);
    return w > 0 && (size_t)w < cap ? (size_t)w : 0;
}

void rp_hc_resp_init(struct rp_hc_resp *r, const struct rp_health_conf *h)
{
    memset(r, 0, sizeof(*r));
    r->h = h;
    r->meth = rp_method_from_slice(rp_slice_cstr(h->method ? h->method : "GET"));
}

void rp_hc_resp_free(struct rp_hc_resp *r)
{
    free(r->ch);
    free(r->body);
    r->ch = NULL;
    r->body = NULL;
}

__attribute__((format(printf, 2, 3))) static enum rp_hc_verdict fail(struct rp_hc_resp *r,
                                                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
    return RP_HC_FAIL;
}

/* Parse heads until the final one (interim 1xx are skipped). Returns the verdict once the
 * status decides it, or RP_HC_MORE with *off past the head when the body must be read. */
static enum rp_hc_verdict read_head(struct rp_hc_resp *r, const char *p, size_t n, size_t *off,
                                    bool eof, bool *head_done)
{
    struct rp_header hdrs[100];
    struct rp_h1_limits lim = {
        .max_request_line = 8192, .max_head = RP_HC_HEAD_MAX, .max_headers = 100};
    for (;;) {
        struct rp_msg m = {.hdrs = hdrs, .cap_hdrs = 100};
        ssize_t hl = rp_h1_parse_response(p + *off, n - *off, &m, r->meth, &lim, &r->hint);
        if (hl < 0)
            return fail(r, "%s", "malformed response head");
        if (hl == 0) {
            if (n - *off >= RP_HC_HEAD_MAX)
                return fail(r, "%s", "response head too large");
            if (eof)
                return fail(r, "%s",
                            n == 0 ? "connection closed before a response"
                                   : "connection closed in the response head");
            return RP_HC_MORE;
        }
        *off += (size_t)hl;
        r->hint = 0;
        if (m.status >= 100 && m.status < 200 && m.status != 101)
            continue;
        r->status = m.status;
        *head_done = true;
        if (!rp_hc_status_ok(r->h, m.status)) {
            return fail(r, "status %d", m.status);
        }
        if (!r->h->body || !r->h->body[0])
            return RP_HC_PASS;
        r->kind = m.body;
        r->left = m.content_length;
        if (r->kind == RP_BODY_CHUNKED) {
            if (!(r->ch = malloc(sizeof(*r->ch))))
                return fail(r, "%s", "out of memory");
            rp_chunked_init(r->ch, 0, 0);
        }
        if (!(r->body = malloc(RP_HC_BODY_MAX)))
            return fail(r, "%s", "out of memory");
        return RP_HC_MORE;
    }
}

/* Append body bytes (beyond the cap they are dropped) and look for the substring in what is
 * new, with an overlap for a match that straddles two reads. */
static bool body_add(struct rp_hc_resp *r, const char *p, size_t n)
{
    size_t room = RP_HC_BODY_MAX - r->body_len;
    if (n > room)
        n = room;
    size_t nlen = strlen(r->h->body);
    size_t from = r->body_len >= nlen ? r->body_len - nlen + 1 : 0;
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    return memmem(r->body + from, r->body_len - from, r->h->body, nlen) != NULL;
}

enum rp_hc_verdict rp_hc_resp_feed(struct rp_hc_resp *r, const char *p, size_t n, size_t *used,
                                   bool eof)
{
    size_t off = 0;
    *used = 0;
    if (!r->status) {
        bool head_done = false;
        enum rp_hc_verdict v = read_head(r, p, n, &off, eof, &head_done);
        if (v != RP_HC_MORE || !head_done)
            return v;
    }
    bool found = false, over = false;
    switch (r->kind) {
    case RP_BODY_NONE:
        over = true;
        break;
    case RP_BODY_LENGTH: {
        size_t take = n - off < r->left ? n - off : (size_t)r->left;
        found = body_add(r, p + off, take);
        r->left -= take;
        over = r->left == 0;
        break;
    }
    case RP_BODY_CLOSE:
        found = body_add(r, p + off, n - off);
        break;
    case RP_BODY_CHUNKED:
        while (off < n && !found && !over) {
            enum rp_chunk_ev ev;
            struct rp_slice d;
            ssize_t k = rp_chunked_decode(r->ch, p + off, n - off, &ev, &d);
            if (k < 0)
                return fail(r, "%s", "malformed chunked body");
            off += (size_t)k;
            if (ev == RP_CHUNK_DATA)
                found = body_add(r, d.p, d.n);
            else if (ev == RP_CHUNK_END)
                over = true;
            else if (k == 0)
                break;
        }
        break;
    }
    *used = n;
    if (found)
        return RP_HC_PASS;
    if (over || eof || r->body_len >= RP_HC_BODY_MAX)
        return fail(r, "body lacks \"%.40s\"", r->h->body);
    return RP_HC_MORE;
}
