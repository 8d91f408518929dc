/* rp_msg: the version-neutral HTTP message model. Codecs (h1 today, h2 later) translate the wire
 * format to and from it; routing, filters and handlers see only this. Header names and values are
 * slices: into the read buffer while parsing, into the exchange arena once the head is kept. */
#ifndef RP_HTTP_MSG_H
#define RP_HTTP_MSG_H

#include <stdint.h>

#include "core/slice.h"

enum rp_method {
    RP_METH_OTHER = 0, /* a valid token we do not know: forwarded as is */
    RP_METH_GET,
    RP_METH_HEAD,
    RP_METH_POST,
    RP_METH_PUT,
    RP_METH_DELETE,
    RP_METH_CONNECT,
    RP_METH_OPTIONS,
    RP_METH_TRACE,
    RP_METH_PATCH,
};

/* How the body of a message is delimited (RFC 9112 section 6.3). */
enum rp_body_kind {
    RP_BODY_NONE = 0, /* no body at all */
    RP_BODY_LENGTH,   /* Content-Length: content_length bytes (may be 0) */
    RP_BODY_CHUNKED,  /* Transfer-Encoding: chunked */
    RP_BODY_CLOSE,    /* until the connection closes, or the stream ends (HTTP/2 requests) */
};

struct rp_header {
    struct rp_slice name;
    struct rp_slice value;
};

#define RP_MSG_MAX_HEADERS_DEFAULT 100

struct rp_msg {
    /* request line */
    struct rp_slice method;
    enum rp_method meth;
    struct rp_slice target;    /* request-target as received */
    struct rp_slice path;      /* target path (origin-form) before normalisation, without query */
    struct rp_slice query;     /* after '?', without it; .p == NULL when there is no '?' */
    struct rp_slice authority; /* host[:port] from an absolute-form target or CONNECT, else empty */
    /* status line (responses) */
    int status;
    struct rp_slice reason;

    int version; /* 10 for HTTP/1.0, 11 for HTTP/1.1, 20 for HTTP/2 */

    /* header fields in received order; storage owned by whoever filled the message */
    struct rp_header *hdrs;
    uint32_t nhdrs;
    uint32_t cap_hdrs;

    /* framing, filled by the parser */
    enum rp_body_kind body;
    uint64_t content_length;

    /* semantics the parser extracts so nobody re-scans headers */
    struct rp_slice host;    /* the Host field value (requests), empty if none */
    bool keep_alive;         /* persistence per version and Connection (RFC 9112 9.3) */
    bool expect_continue;    /* Expect: 100-continue (requests) */
    bool upgrade;            /* Connection: upgrade with an Upgrade field present */
    bool has_connection_hdr; /* Connection field present: its tokens name hop-by-hop fields */
};

/* Returns the method enum for a method token (case-sensitive, RFC 9110 9.1). */
enum rp_method rp_method_from_slice(struct rp_slice m);

/* First header with this name (case-insensitive), or NULL. */
const struct rp_header *rp_msg_find(const struct rp_msg *m, struct rp_slice name);

/* True when a comma-separated field (all instances of it) contains token, case-insensitive. */
bool rp_msg_has_token(const struct rp_msg *m, struct rp_slice name, struct rp_slice token);

struct rp_arena;

/* Copy a parsed head out of the read buffer: the len bytes at from (which src's slices point
 * into) and the header array go into arena a, and dst gets src with every slice moved there.
 * Slices outside the head (a static "/") stay. Returns false when out of memory. */
bool rp_msg_keep(struct rp_arena *a, struct rp_msg *dst, const struct rp_msg *src, const char *from,
                 size_t len);

/* True when v is a non-empty host[:port] of RFC 3986 authority bytes without userinfo: what
 * the HTTP/1 parser accepts in Host, for codecs that receive the host another way (HTTP/2's
 * :authority). */
bool rp_host_valid(struct rp_slice v);

/* True for methods RFC 9110 9.2.2 calls idempotent. */
bool rp_method_idempotent(enum rp_method m);

#endif
