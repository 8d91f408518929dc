/* Strict HTTP/1.1 head parser (RFC 9112). Incremental with a bounded total scan: the caller
 * keeps the unparsed bytes in one contiguous buffer and calls again with more; the end of the
 * head is searched from a resume hint, and the head is parsed once, when it is complete.
 *
 * Return values (ssize_t):
 *   > 0  the head is complete; the value is its length in bytes including the final CRLF CRLF.
 *        msg is filled with slices into buf (valid while buf is).
 *   0    need more bytes; *hint is updated so the next call does not re-scan.
 *   < 0  a protocol error: the negated HTTP status to answer (-400, -414, -431, -501, -505).
 *        The message must not be forwarded. */
#ifndef RP_HTTP_H1_PARSE_H
#define RP_HTTP_H1_PARSE_H

#include <sys/types.h>

#include "http/msg.h"

struct rp_h1_limits {
    size_t max_request_line; /* request line longer than this: -414 (responses: -502 style -400) */
    size_t max_head;         /* whole head longer than this: -431 */
    uint32_t max_headers; /* more header fields than this: -431 (also bounded by msg->cap_hdrs) */
};

/* Parse a request head from buf[0..n). msg->hdrs/cap_hdrs must point at caller storage;
 * everything else in msg is overwritten. *hint must start at 0 for a new message.
 *
 * Strictness (each of these is -400 and never a guess): CR not followed by LF anywhere, bare LF
 * as a line end, NUL or other control bytes in the request line, names or values (HTAB allowed in
 * values), obs-fold (a line starting with SP/HTAB), whitespace between name and colon, an empty
 * or non-token name, an invalid method token, a request-target with SP/CTL/non-ASCII bytes, a
 * version not of the form HTTP/DIGIT.DIGIT (HTTP/1.2-1.9 are handled as 1.1, RFC 9110 2.5; other
 * major versions: -505), both Content-Length and Transfer-Encoding, more than one Content-Length
 * field or a list value, a Content-Length that is not 1*DIGIT or overflows, Transfer-Encoding in
 * an HTTP/1.0 request, Transfer-Encoding whose final coding is not chunked, chunked applied
 * twice, a missing or repeated Host in HTTP/1.1, a Host value with invalid bytes. An unknown
 * transfer coding before chunked gives -501.
 * Leading empty lines before the request line (RFC 9112 2.2) are skipped and counted in the
 * return value (at most 8 of them; more is -400). A Content-Length above INT64_MAX overflows.
 * Fills: method, meth, target, path, query, authority (absolute-form), version, hdrs, nhdrs,
 * body/content_length (requests without CL/TE have RP_BODY_NONE), host, keep_alive,
 * expect_continue, upgrade, has_connection_hdr. An absolute-form target without a path gets
 * path "/" (a static string, not a slice of buf). */
ssize_t rp_h1_parse_request(const char *buf, size_t n, struct rp_msg *msg,
                            const struct rp_h1_limits *lim, size_t *hint);

/* Parse a response head. req_meth is the method of the request it answers (HEAD and CONNECT
 * change framing). Framing per RFC 9112 6.3: 1xx, 204, 304 and responses to HEAD have no body;
 * TE chunked -> RP_BODY_CHUNKED; TE without final chunked -> RP_BODY_CLOSE; CL -> RP_BODY_LENGTH;
 * neither -> RP_BODY_CLOSE. CL+TE, invalid or conflicting CL -> -502 (answer 502 to the client).
 * Errors return -502 for every malformation (the client gets a 502; nothing is forwarded). */
ssize_t rp_h1_parse_response(const char *buf, size_t n, struct rp_msg *msg, enum rp_method req_meth,
                             const struct rp_h1_limits *lim, size_t *hint);

/* True when c is a tchar (RFC 9110 5.6.2). */
bool rp_h1_is_tchar(unsigned char c);

#endif
