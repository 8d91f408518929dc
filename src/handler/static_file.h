/* Static file handler logic, free of I/O loops: given a route's static settings, the normalised
 * path and the request, decide the response (status, headers to send, file range). The exchange
 * writes the head and sends the bytes with sendfile. */
#ifndef RP_HANDLER_STATIC_FILE_H
#define RP_HANDLER_STATIC_FILE_H

#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "http/msg.h"

struct rp_static_result {
    int status;             /* 200, 206, 304, 301 (directory without slash), 403, 404, 405,
                               412, 416, 500 */
    int fd;                 /* open file for 200/206 (caller closes), else -1 */
    uint64_t offset;        /* first byte to send */
    uint64_t length;        /* bytes to send (Content-Length) */
    uint64_t size;          /* full file size */
    const char *mime;       /* Content-Type, static string */
    char etag[48];          /* strong ETag, quoted: "\"<hex mtime>-<hex size>\"" */
    char last_modified[40]; /* IMF-fixdate */
    char content_range[80]; /* "bytes a-b/size" for 206, "bytes * /size" (no space) for 416; else ""
                             */
    char location[1024];    /* for 301: path + "/" (+ "?query") */
    bool head_only;         /* HEAD: send headers only */
};

/* Resolve a request against conf. path is the normalised path after route rewrites (starts
 * with '/'). Only GET and HEAD are served (others: 405 with Allow). Conditionals per RFC 9110
 * 13.2.2: If-None-Match (weak comparison, "*") then If-Modified-Since (ignored when
 * If-None-Match is present); If-Match/If-Unmodified-Since -> 412 when false. Range: a single
 * "bytes=a-b", "a-" or "-n" range gives 206; unsatisfiable gives 416; several ranges or syntax
 * not understood are ignored (200, full body); If-Range with an ETag or date gates it.
 * A directory is served through conf->index; a directory path without trailing '/' gets 301.
 * Never follows a path out of conf->root (uses rp_uri_safe_join). Returns 0; res->status says
 * what to answer. */
int rp_static_resolve(const struct rp_static_conf *conf, struct rp_slice path,
                      struct rp_slice query, const struct rp_msg *req,
                      struct rp_static_result *res);

/* Content-Type for a file name by extension (lowercase compare); "application/octet-stream"
 * when unknown. */
const char *rp_mime_type(struct rp_slice filename);

/* Format t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into out (>= 30 bytes). */
void rp_http_date(int64_t t, char *out, size_t cap);

/* Parse an IMF-fixdate (also the obsolete RFC 850 and asctime forms, RFC 9110 5.6.7).
 * Returns 0 and *t, or -1. */
int rp_http_date_parse(struct rp_slice s, int64_t *t);

#endif
