/* Heads that rampart writes: the request head sent to a backend and the response head sent to
 * a client, both rebuilt from rp_msg. Hop-by-hop fields (RFC 9110 7.6.1) and the fields named in
 * Connection are dropped, forwarding fields are added, route header edits applied. */
#include <stdio.h>
#include <string.h>

#include "http/accept_encoding.h"
#include "proxy/exchange_run.h"
#include "proxy/session.h"
#include "tls/client_auth.h"

/* A bounded writer into caller memory; overflow is sticky and reported at the end. */
struct hbuf {
    char *p;
    size_t n, cap;
    bool overflow;
};

static void put(struct hbuf *h, const char *s, size_t n)
{
    if (h->overflow || h->cap - h->n < n) {
        h->overflow = true;
        return;
    }
    memcpy(h->p + h->n, s, n);
    h->n += n;
}

static void puts_(struct hbuf *h, const char *s)
{
    put(h, s, strlen(s));
}

static void put_slice(struct hbuf *h, struct rp_slice s)
{
    put(h, s.p, s.n);
}

static void put_field(struct hbuf *h, const char *name, struct rp_slice value)
{
    puts_(h, name);
    put(h, ": ", 2);
    put_slice(h, value);
    put(h, "\r\n", 2);
}

static bool is_hop_by_hop(struct rp_slice name)
{
    static const char *const hop[] = {"connection", "keep-alive",        "proxy-connection",
                                      "te",         "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        if (rp_slice_case_eq_cstr(name, hop[i]))
            return true;
    return false;
}

/* Dropped when hop-by-hop or listed in the message's own Connection field. */
static bool drop_connection_field(const struct rp_msg *m, struct rp_slice name)
{
    if (is_hop_by_hop(name))
        return true;
    return m->has_connection_hdr && rp_msg_has_token(m, RP_SLICE_LIT("connection"), name);
}

static bool named_in(const struct rp_header_kv *kv, uint32_t n, struct rp_slice name)
{
    for (uint32_t i = 0; i < n; i++)
        if (rp_slice_case_eq_cstr(name, kv[i].name))
            return true;
    return false;
}

static bool removed_by(const struct rp_header_ops *ops, struct rp_slice name)
{
    if (named_in(ops->set, ops->nset, name))
        return true;
    for (uint32_t i = 0; i < ops->nremove; i++)
        if (rp_slice_case_eq_cstr(name, ops->remove[i]))
            return true;
    return false;
}

static void put_ops(struct hbuf *h, const struct rp_header_ops *ops)
{
    for (uint32_t i = 0; i < ops->nset; i++)
        put_field(h, ops->set[i].name, rp_slice_cstr(ops->set[i].value));
    for (uint32_t i = 0; i < ops->nadd; i++)
        put_field(h, ops->add[i].name, rp_slice_cstr(ops->add[i].value));
}

static size_t head_estimate(const struct rp_msg *m, const struct rp_header_ops *ops)
{
    size_t n = 1024 + m->target.n + m->method.n + m->reason.n;
    for (uint32_t i = 0; i < m->nhdrs; i++)
        n += m->hdrs[i].name.n + m->hdrs[i].value.n + 4;
    for (uint32_t i = 0; i < ops->nset; i++)
        n += strlen(ops->set[i].name) + strlen(ops->set[i].value) + 4;
    for (uint32_t i = 0; i < ops->nadd; i++)
        n += strlen(ops->add[i].name) + strlen(ops->add[i].value) + 4;
    return n;
}

/* Forwarded (RFC 7239) wants IPv6 addresses quoted and bracketed. */
static void put_forwarded_for(struct hbuf *h, const char *ip)
{
    if (strchr(ip, ':')) {
        puts_(h, "\"[");
        puts_(h, ip);
        puts_(h, "]\"");
    } else {
        puts_(h, ip);
    }
}

static void put_joined(struct hbuf *h, const struct rp_msg *m, const char *name)
{
    /* all instances of a list field, joined with ", " */
    bool first = true;
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        if (!rp_slice_case_eq_cstr(m->hdrs[i].name, name))
            continue;
        if (!first)
            put(h, ", ", 2);
        put_slice(h, m->hdrs[i].value);
        first = false;
    }
    if (!first)
        put(h, ", ", 2);
}

/* The client-certificate identity fields are rampart's to set: a name that any listener uses
 * for them is never taken from a client (a plain listener in front of the same backend must
 * not let a client claim an identity either). */
static bool identity_field(const struct rp_config *cfg, struct rp_slice name)
{
    for (uint32_t i = 0; i < cfg->nlisteners; i++) {
        const struct rp_tls_listener_conf *t = cfg->listeners[i].tls;
        if (!t)
            continue;
        if ((t->client_auth.subject_header &&
             rp_slice_case_eq_cstr(name, t->client_auth.subject_header)) ||
            (t->client_auth.fingerprint_header &&
             rp_slice_case_eq_cstr(name, t->client_auth.fingerprint_header)))
            return true;
    }
    return false;
}

bool rp_proxy_identity_line(const struct rp_config *cfg, struct rp_slice line)
{
    const char *colon = memchr(line.p, ':', line.n);
    return colon && identity_field(cfg, (struct rp_slice){line.p, (size_t)(colon - line.p)});
}

/* The verified client certificate of the exchange's connection, if its listener asks for one.
 * The header names and mode come from the exchange's config (a reload may rename them: the
 * same names identity_field strips), not from the start-up entry in s->listener. */
struct identity {
    const char *subject_header, *fingerprint_header;
    char subject[1024];
    char fp[65];
};

static bool client_identity(const struct rp_exchange *x, struct identity *id)
{
    /* an HTTP/2 stream's certificate is its connection's */
    const struct rp_session *s = x->s->h2s ? x->s->conn : x->s;
    const struct rp_listener_conf *l = rp_exchange_listener(x);
    const struct rp_tls_listener_conf *t = l ? l->tls : NULL;
    if (!s->ssl || !t || t->client_auth.mode == RP_CLIENT_AUTH_OFF ||
        !t->client_auth.subject_header || !t->client_auth.fingerprint_header)
        return false;
    id->subject_header = t->client_auth.subject_header;
    id->fingerprint_header = t->client_auth.fingerprint_header;
    return rp_tls_peer_identity(s->ssl, id->subject, sizeof(id->subject), id->fp, sizeof(id->fp));
}

struct rp_slice rp_proxy_build_request_head(struct rp_exchange *x, enum rp_body_out out)
{
    const struct rp_msg *req = &x->req;
    const struct rp_route *rt = x->route;
    const struct rp_config *cfg = x->cfg;
    bool trust = cfg->proxy.trust_forwarded;
    struct identity id;
    bool have_id = client_identity(x, &id);
    size_t cap =
        head_estimate(req, &rt->request_headers) + x->path.n + req->host.n * 3 + req->query.n;
    if (have_id)
        cap += strlen(id.subject_header) + strlen(id.subject) + strlen(id.fingerprint_header) +
               sizeof(id.fp) + 8;
    struct hbuf h = {.p = rp_arena_alloc(&x->arena, cap), .cap = cap};
    if (!h.p)
        return RP_SLICE_NULL;

    put_slice(&h, req->method);
    put(&h, " ", 1);
    put_slice(&h, x->path);
    if (req->query.p) {
        put(&h, "?", 1);
        put_slice(&h, req->query);
    }
    puts_(&h, " HTTP/1.1\r\n");

    /* Host: rewritten per upstream, else the client's (absolute-form authority wins) */
    struct rp_slice host = req->authority.n ? req->authority : req->host;
    if (named_in(rt->request_headers.set, rt->request_headers.nset, RP_SLICE_LIT("host")))
        ; /* the route sets Host itself (put_ops below) */
    else if (x->upstream->host_header)
        put_field(&h, "Host", rp_slice_cstr(x->upstream->host_header));
    else if (host.n)
        put_field(&h, "Host", host);
    else
        put_field(&h, "Host", rp_slice_cstr(x->upstream_addr));

    for (uint32_t i = 0; i < req->nhdrs; i++) {
        struct rp_slice name = req->hdrs[i].name;
        if (drop_connection_field(req, name) || rp_slice_case_eq_cstr(name, "host") ||
            rp_slice_case_eq_cstr(name, "content-length") ||
            rp_slice_case_eq_cstr(name, "expect") || rp_slice_case_eq_cstr(name, "x-request-id") ||
            rp_slice_case_eq_cstr(name, "x-forwarded-for") ||
            rp_slice_case_eq_cstr(name, "x-forwarded-proto") ||
            rp_slice_case_eq_cstr(name, "x-forwarded-host") ||
            rp_slice_case_eq_cstr(name, "forwarded") ||
            (cfg->proxy.via && rp_slice_case_eq_cstr(name, "via")) ||
            removed_by(&rt->request_headers, name) || identity_field(cfg, name))
            continue;
        put_slice(&h, name);
        put(&h, ": ", 2);
        put_slice(&h, req->hdrs[i].value);
        put(&h, "\r\n", 2);
    }
    put_ops(&h, &rt->request_headers);
    if (have_id) {
        put_field(&h, id.subject_header, rp_slice_cstr(id.subject));
        put_field(&h, id.fingerprint_header, rp_slice_cstr(id.fp));
    }

    puts_(&h, "X-Forwarded-For: ");
    if (trust)
        put_joined(&h, req, "x-forwarded-for");
    puts_(&h, x->s->peer_ip);
    put(&h, "\r\n", 2);
    const struct rp_header *xfp =
        trust ? rp_msg_find(req, RP_SLICE_LIT("x-forwarded-proto")) : NULL;
    bool https = (x->s->h2s ? x->s->conn : x->s)->ssl != NULL; /* a stream's TLS is its conn's */
    put_field(&h, "X-Forwarded-Proto",
              xfp     ? xfp->value
              : https ? RP_SLICE_LIT("https")
                      : RP_SLICE_LIT("http"));
    const struct rp_header *xfh = trust ? rp_msg_find(req, RP_SLICE_LIT("x-forwarded-host")) : NULL;
    if (xfh)
        put_field(&h, "X-Forwarded-Host", xfh->value);
    else if (host.n)
        put_field(&h, "X-Forwarded-Host", host);
    puts_(&h, "Forwarded: ");
    if (trust)
        put_joined(&h, req, "forwarded");
    puts_(&h, "for=");
    put_forwarded_for(&h, x->s->peer_ip);
    if (host.n) {
        puts_(&h, ";host=\"");
        put_slice(&h, host);
        put(&h, "\"", 1);
    }
    puts_(&h, https ? ";proto=https\r\n" : ";proto=http\r\n");
    if (cfg->proxy.via) {
        puts_(&h, "Via: ");
        put_joined(&h, req, "via");
        puts_(&h, "1.1 rampart\r\n");
    }
    put_field(&h, "X-Request-ID", rp_slice_cstr(x->request_id));
    /* TE is hop-by-hop, but HTTP/2 keeps "te: trailers" end to end and gRPC servers require
     * it: passed on to HTTP/2 upstreams when the client sent it */
    if (x->upstream->protocol != RP_UP_HTTP1 &&
        rp_msg_has_token(req, RP_SLICE_LIT("te"), RP_SLICE_LIT("trailers")))
        puts_(&h, "TE: trailers\r\n");

    if (out == RP_OUT_LENGTH) {
        char cl[32];
        snprintf(cl, sizeof(cl), "%llu", (unsigned long long)req->content_length);
        put_field(&h, "Content-Length", rp_slice_cstr(cl));
    } else if (out == RP_OUT_CHUNKED) {
        puts_(&h, "Transfer-Encoding: chunked\r\n");
    }
    if (x->upgrade) {
        const struct rp_header *up = rp_msg_find(req, RP_SLICE_LIT("upgrade"));
        puts_(&h, "Connection: upgrade\r\n");
        if (up)
            put_field(&h, "Upgrade", up->value);
    }
    put(&h, "\r\n", 2);
    if (h.overflow)
        return RP_SLICE_NULL;
    return (struct rp_slice){h.p, h.n};
}

size_t rp_header_ops_size(const struct rp_header_ops *ops)
{
    size_t n = 0;
    for (uint32_t i = 0; i < ops->nset; i++)
        n += strlen(ops->set[i].name) + strlen(ops->set[i].value) + 4;
    for (uint32_t i = 0; i < ops->nadd; i++)
        n += strlen(ops->add[i].name) + strlen(ops->add[i].value) + 4;
    return n;
}

bool rp_header_ops_hides(const struct rp_header_ops *ops, const char *name)
{
    return ops && removed_by(ops, rp_slice_cstr(name));
}

size_t rp_header_ops_write(const struct rp_header_ops *ops, char *out, size_t cap)
{
    struct hbuf h = {.p = out, .cap = cap};
    put_ops(&h, ops);
    return h.overflow ? 0 : h.n;
}

/* Each transfer coding of m other than chunked, followed by ", " (all Transfer-Encoding fields,
 * in order). */
static void put_codings(struct hbuf *h, const struct rp_msg *m)
{
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        if (!rp_slice_case_eq_cstr(m->hdrs[i].name, "transfer-encoding"))
            continue;
        struct rp_slice v = m->hdrs[i].value;
        while (v.n) {
            const char *comma = memchr(v.p, ',', v.n);
            size_t len = comma ? (size_t)(comma - v.p) : v.n;
            struct rp_slice c = rp_slice_trim_ows((struct rp_slice){v.p, len});
            if (c.n && !rp_slice_case_eq_cstr(c, "chunked")) {
                put_slice(h, c);
                put(h, ", ", 2);
            }
            v.p += comma ? len + 1 : len;
            v.n -= comma ? len + 1 : len;
        }
    }
}

bool rp_response_has_codings(const struct rp_msg *m)
{
    char tmp[8];
    for (uint32_t i = 0; i < m->nhdrs; i++)
        if (rp_slice_case_eq_cstr(m->hdrs[i].name, "transfer-encoding")) {
            struct hbuf h = {.p = tmp, .cap = sizeof(tmp)};
            put_codings(&h, m);
            return h.n || h.overflow;
        }
    return false;
}

/* A Vary value that already covers Accept-Encoding ("*" covers everything). */
static bool vary_names_accept_encoding(struct rp_slice v)
{
    const char *p = v.p, *end = v.p + v.n;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *e = p;
        while (e < end && *e != ',' && *e != ' ' && *e != '\t')
            e++;
        struct rp_slice tok = {p, (size_t)(e - p)};
        if (rp_slice_case_eq_cstr(tok, "accept-encoding") || rp_slice_case_eq_cstr(tok, "*"))
            return true;
        p = e;
    }
    return false;
}

bool rp_proxy_write_response_head(struct rp_exchange *x, const struct rp_msg *resp,
                                  enum rp_body_out out)
{
    struct rp_session *s = x->s;
    const struct rp_config *cfg = x->cfg;
    const struct rp_header_ops *ops = &x->route->response_headers;
    size_t cap =
        head_estimate(resp, ops) + 256 + (x->sticky_cookie ? strlen(x->sticky_cookie) + 16 : 0);
    if (!rp_session_out_piece(s, cap))
        return false;
    struct hbuf h = {.p = rp_buf_wptr(&s->out), .cap = rp_buf_room(&s->out)};
    char line[64];
    snprintf(line, sizeof(line), "HTTP/1.1 %03d ", resp->status);
    puts_(&h, line);
    if (resp->reason.n)
        put_slice(&h, resp->reason);
    else
        puts_(&h, rp_http_reason(resp->status));
    put(&h, "\r\n", 2);
    bool has_request_id = false, has_hsts = false, vary_done = false;
    for (uint32_t i = 0; i < resp->nhdrs; i++) {
        struct rp_slice name = resp->hdrs[i].name;
        has_hsts |= rp_slice_case_eq_cstr(name, "strict-transport-security");
        if (drop_connection_field(resp, name) ||
            ((out != RP_OUT_NONE || resp->status == 204 || resp->status < 200) &&
             rp_slice_case_eq_cstr(name, "content-length")) || /* RFC 9110 8.6 */
            rp_slice_case_eq_cstr(name, "server") || /* the backend's software stays hidden */
            (cfg->proxy.via && rp_slice_case_eq_cstr(name, "via")) ||
            removed_by(ops, name))
            continue;
        if (rp_slice_case_eq_cstr(name, "x-request-id"))
            has_request_id = true;
        if (x->zcoding && (rp_slice_case_eq_cstr(name, "content-length") ||
                           rp_slice_case_eq_cstr(name, "content-encoding")))
            continue; /* compressed: a new length (none) and coding */
        if (x->zvary && rp_slice_case_eq_cstr(name, "vary") &&
            vary_names_accept_encoding(resp->hdrs[i].value))
            vary_done = true;
        put_slice(&h, name);
        put(&h, ": ", 2);
        /* a strong validator does not hold for the compressed bytes (RFC 9110 8.8.1) */
        if (x->zcoding && rp_slice_case_eq_cstr(name, "etag") && resp->hdrs[i].value.n &&
            resp->hdrs[i].value.p[0] == '"')
            put(&h, "W/", 2);
        put_slice(&h, resp->hdrs[i].value);
        put(&h, "\r\n", 2);
    }
    if (x->zcoding)
        put_field(&h, "Content-Encoding", rp_slice_cstr(rp_coding_name(x->zcoding)));
    if (x->zvary && !vary_done)
        puts_(&h, "Vary: Accept-Encoding\r\n");
    if (cfg->proxy.server_header[0])
        put_field(&h, "Server", rp_slice_cstr(cfg->proxy.server_header));
    if (x->sticky_cookie)
        put_field(&h, "Set-Cookie", rp_slice_cstr(x->sticky_cookie));
    put_ops(&h, ops);
    if (!has_request_id)
        put_field(&h, "X-Request-ID", rp_slice_cstr(x->request_id));
    if (!has_hsts && h.cap - h.n > 96) /* the backend's own policy wins */
        h.n += rp_hsts_field(x, h.p + h.n, h.cap - h.n);
    if (cfg->proxy.via) {
        puts_(&h, "Via: ");
        put_joined(&h, resp, "via");
        puts_(&h, "1.1 rampart\r\n");
    }
    if (out == RP_OUT_LENGTH) {
        char cl[48];
        snprintf(cl, sizeof(cl), "Content-Length: %llu\r\n",
                 (unsigned long long)resp->content_length);
        puts_(&h, cl);
    } else if (out == RP_OUT_CHUNKED) {
        /* codings the backend applied before chunked stay on the body: name them again */
        puts_(&h, "Transfer-Encoding: ");
        put_codings(&h, resp);
        puts_(&h, "chunked\r\n");
    }
    if (resp->status == 101) {
        const struct rp_header *up = rp_msg_find(resp, RP_SLICE_LIT("upgrade"));
        puts_(&h, "Connection: upgrade\r\n");
        if (up)
            put_field(&h, "Upgrade", up->value);
    } else if (s->want_close) {
        puts_(&h, "Connection: close\r\n");
    } else if (x->req.version == 10) {
        puts_(&h, "Connection: keep-alive\r\n");
    }
    put(&h, "\r\n", 2);
    if (h.overflow)
        return false;
    s->out.tail += h.n;
    return true;
}
