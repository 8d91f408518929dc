/* Static file handler logic: map a normalised request path under a root directory to an open file
 * and decide the answer (status, validators, byte range) per RFC 9110 sections 13 and 14. No I/O
 * loop here: the exchange writes the head and sends res->length bytes of res->fd with sendfile. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "handler/static_file.h"
#include "http/ctype.h"

/* ---- request header access ----
 * A local scan instead of rp_msg_find: this file only needs exact-name lookups and counting, and
 * keeping it self-contained lets the handler be tested without the rest of the message code. */

static const struct rp_header *find_hdr(const struct rp_msg *m, const char *name)
{
    struct rp_slice n = rp_slice_cstr(name);
    for (uint32_t i = 0; i < m->nhdrs; i++)
        if (rp_slice_case_eq(m->hdrs[i].name, n))
            return &m->hdrs[i];
    return NULL;
}

static uint32_t count_hdr(const struct rp_msg *m, const char *name)
{
    struct rp_slice n = rp_slice_cstr(name);
    uint32_t c = 0;
    for (uint32_t i = 0; i < m->nhdrs; i++)
        if (rp_slice_case_eq(m->hdrs[i].name, n))
            c++;
    return c;
}

/* The value of a field that must appear once (dates, Range, If-Range); a repeated field is
 * ambiguous and is treated as absent (RFC 9110 13.1.3: a field with several members is ignored). */
static bool single_hdr(const struct rp_msg *m, const char *name, struct rp_slice *v)
{
    if (count_hdr(m, name) != 1)
        return false;
    *v = rp_slice_trim_ows(find_hdr(m, name)->value);
    return true;
}

/* ---- path mapping ---- */

static bool is_dot_segment(const char *s, size_t n)
{
    return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* Join root and the request path into out, percent-decoding the path (a file "a b.txt" is asked
 * for as "/a%20b.txt"). Decoding happens before the checks, so "%2e%2e" or "..%2f" cannot slip a
 * dot-segment past them. Refuses: no leading '/', a malformed escape, a NUL, any "." or ".."
 * segment, or a result that does not fit. The normaliser already removed dot-segments; this is
 * the second line of defence, so it refuses rather than repairs. Symlinks under root are followed
 * by open(), as an administrator who links content into the root expects. */
static bool join_under_root(const char *root, struct rp_slice path, char *out, size_t cap)
{
    size_t rl = strlen(root);
    if (path.n == 0 || path.p == NULL || path.p[0] != '/' || rl + 1 >= cap)
        return false;
    memcpy(out, root, rl);
    size_t o = rl, seg = rl;
    for (size_t i = 0; i < path.n; i++) {
        char ch = path.p[i];
        if (ch == '%') {
            if (i + 2 >= path.n || rp_hexval((unsigned char)path.p[i + 1]) < 0 ||
                rp_hexval((unsigned char)path.p[i + 2]) < 0)
                return false;
            ch = (char)(rp_hexval((unsigned char)path.p[i + 1]) * 16 +
                        rp_hexval((unsigned char)path.p[i + 2]));
            i += 2;
        }
        if (ch == '\0')
            return false;
        if (ch == '/') {
            if (is_dot_segment(out + seg, o - seg))
                return false;
            seg = o + 1;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = ch;
    }
    if (is_dot_segment(out + seg, o - seg))
        return false;
    out[o] = '\0';
    return true;
}

static int status_for_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
    case ELOOP:
        return 404;
    case EACCES:
    case EPERM:
        return 403;
    default:
        return 500; /* EMFILE, EIO...: our trouble, not the client's */
    }
}

/* 301 target for a directory asked for without its slash. Leading slashes are collapsed to one so
 * that a path like "//evil.example/" can never become a scheme-relative Location. Bytes that
 * cannot appear in a header value unescaped make the answer 404 rather than a broken header. */
static int make_location(struct rp_static_result *res, struct rp_slice path, struct rp_slice query)
{
    while (path.n > 1 && path.p[1] == '/') {
        path.p++;
        path.n--;
    }
    int n;
    if (query.p != NULL)
        n = snprintf(res->location, sizeof(res->location), "%.*s/?%.*s", RP_SLICE_FMT(path),
                     RP_SLICE_FMT(query));
    else
        n = snprintf(res->location, sizeof(res->location), "%.*s/", RP_SLICE_FMT(path));
    if (n < 0 || (size_t)n >= sizeof(res->location)) {
        res->location[0] = '\0';
        return 500;
    }
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)res->location[i];
        if (c <= 0x20 || c >= 0x7f) {
            res->location[0] = '\0';
            return 404;
        }
    }
    return 301;
}

/* ---- validators and conditionals (RFC 9110 13.1, 13.2.2) ---- */

/* Does a field value "*" / 1#entity-tag list name our (strong, quoted) tag? Weak comparison
 * ignores the W/ prefix; strong comparison never matches a weak tag. A malformed list stops the
 * scan: what was read so far counts, the rest does not. */
static bool etag_list_match(struct rp_slice v, struct rp_slice ours, bool strong)
{
    v = rp_slice_trim_ows(v);
    if (v.n == 1 && v.p[0] == '*')
        return true;
    size_t i = 0;
    while (i < v.n) {
        while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        if (i == v.n)
            break;
        bool weak = false;
        if (v.n - i >= 2 && v.p[i] == 'W' && v.p[i + 1] == '/') {
            weak = true;
            i += 2;
        }
        if (i >= v.n || v.p[i] != '"')
            return false;
        size_t start = i++;
        while (i < v.n && v.p[i] != '"')
            i++;
        if (i >= v.n)
            return false;
        i++; /* closing quote */
        struct rp_slice tag = {v.p + start, i - start};
        if (rp_slice_eq(tag, ours) && !(strong && weak))
            return true;
        while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t'))
            i++;
        if (i < v.n && v.p[i] != ',')
            return false;
    }
    return false;
}

/* Any instance of the (list) field name matches. */
static bool etag_field_match(const struct rp_msg *m, const char *name, struct rp_slice ours,
                             bool strong)
{
    struct rp_slice n = rp_slice_cstr(name);
    for (uint32_t i = 0; i < m->nhdrs; i++)
        if (rp_slice_case_eq(m->hdrs[i].name, n) && etag_list_match(m->hdrs[i].value, ours, strong))
            return true;
    return false;
}

static bool date_field(const struct rp_msg *m, const char *name, int64_t *t)
{
    struct rp_slice v;
    return single_hdr(m, name, &v) && rp_http_date_parse(v, t) == 0;
}

/* RFC 9110 13.2.2 steps 1-4 for a GET or HEAD of an existing file. Returns 0 to go on, or the
 * status to answer with (412, 304). */
static int preconditions(const struct rp_msg *req, struct rp_slice etag, int64_t mtime)
{
    int64_t d;
    if (count_hdr(req, "If-Match") > 0) {
        if (!etag_field_match(req, "If-Match", etag, true))
            return 412;
    } else if (date_field(req, "If-Unmodified-Since", &d) && mtime > d) {
        return 412;
    }
    if (count_hdr(req, "If-None-Match") > 0) {
        if (etag_field_match(req, "If-None-Match", etag, false))
            return 304;
    } else if (date_field(req, "If-Modified-Since", &d)) {
        /* A date in the future is invalid (RFC 9110 13.1.3): ignore it rather than let a
         * client with a fast clock freeze its cache on an old copy. */
        if (d <= (int64_t)time(NULL) && mtime <= d)
            return 304;
    }
    return 0;
}

/* If-Range (RFC 9110 13.1.5): the range applies only when the validator still matches. An ETag
 * needs strong equality; a date must equal Last-Modified exactly. Anything else: send it all. */
static bool if_range_holds(const struct rp_msg *req, struct rp_slice etag, int64_t mtime)
{
    if (count_hdr(req, "If-Range") == 0)
        return true;
    struct rp_slice v;
    if (!single_hdr(req, "If-Range", &v))
        return false;
    /* "W/" and not just 'W': a date may start with "Wed". */
    if (v.n > 0 && (v.p[0] == '"' || (v.n >= 2 && v.p[0] == 'W' && v.p[1] == '/')))
        return rp_slice_eq(v, etag);
    int64_t d;
    return rp_http_date_parse(v, &d) == 0 && d == mtime;
}

/* ---- Range (RFC 9110 14.1, 14.2) ---- */

enum range_result { RANGE_IGNORE, RANGE_OK, RANGE_UNSAT };

/* Decimal digits at s[*i..]; saturates at UINT64_MAX (a huge first-pos is then simply
 * unsatisfiable, a huge last-pos or suffix is clamped). False when there is no digit. */
static bool read_u64(struct rp_slice s, size_t *i, uint64_t *v)
{
    size_t start = *i;
    uint64_t x = 0;
    while (*i < s.n && s.p[*i] >= '0' && s.p[*i] <= '9') {
        unsigned d = (unsigned)(s.p[*i] - '0');
        x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
        (*i)++;
    }
    *v = x;
    return *i > start;
}

/* One range-spec, already trimmed. */
static enum range_result parse_spec(struct rp_slice s, uint64_t size, uint64_t *off, uint64_t *len)
{
    size_t i = 0;
    uint64_t a, b;
    if (s.n > 0 && s.p[0] == '-') {
        i = 1;
        if (!read_u64(s, &i, &b) || i != s.n)
            return RANGE_IGNORE;
        if (b == 0)
            return RANGE_UNSAT;
        if (size == 0)
            return RANGE_IGNORE; /* nothing to cut: the (empty) full answer is right */
        if (b > size)
            b = size;
        *off = size - b;
        *len = b;
        return RANGE_OK;
    }
    if (!read_u64(s, &i, &a) || i >= s.n || s.p[i] != '-')
        return RANGE_IGNORE;
    i++;
    bool has_last = i < s.n;
    b = UINT64_MAX;
    if (has_last && (!read_u64(s, &i, &b) || i != s.n))
        return RANGE_IGNORE;
    if (b < a)
        return RANGE_IGNORE; /* invalid int-range: ignored like any syntax we do not take */
    if (a >= size)
        return RANGE_UNSAT;
    if (b > size - 1)
        b = size - 1;
    *off = a;
    *len = b - a + 1;
    return RANGE_OK;
}

/* "bytes=" 1#range-spec. Only a single range is served; several are ignored rather than answered
 * with multipart/byteranges, which real clients rarely need and which invites amplification. */
static enum range_result parse_range(struct rp_slice v, uint64_t size, uint64_t *off, uint64_t *len)
{
    static const char unit[] = "bytes=";
    if (v.n < sizeof(unit) - 1 || strncasecmp(v.p, unit, sizeof(unit) - 1) != 0)
        return RANGE_IGNORE;
    struct rp_slice rest = {v.p + sizeof(unit) - 1, v.n - (sizeof(unit) - 1)};
    struct rp_slice spec = RP_SLICE_NULL;
    unsigned count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= rest.n; i++) {
        if (i < rest.n && rest.p[i] != ',')
            continue;
        struct rp_slice el = rp_slice_trim_ows((struct rp_slice){rest.p + start, i - start});
        start = i + 1;
        if (el.n == 0)
            continue; /* empty list elements are allowed and ignored (RFC 9110 5.6.1) */
        if (++count > 1)
            return RANGE_IGNORE;
        spec = el;
    }
    if (count == 0)
        return RANGE_IGNORE;
    return parse_spec(spec, size, off, len);
}

/* ---- the handler ---- */

static void finish(struct rp_static_result *res, int *fd, int status)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    res->status = status;
    res->fd = -1;
    res->length = 0;
}

int rp_static_resolve(const struct rp_static_conf *conf, struct rp_slice path,
                      struct rp_slice query, const struct rp_msg *req, struct rp_static_result *res)
{
    memset(res, 0, sizeof(*res));
    res->fd = -1;
    res->mime = "application/octet-stream";
    int fd = -1;

    if (req->meth != RP_METH_GET && req->meth != RP_METH_HEAD) {
        finish(res, &fd, 405);
        return 0;
    }
    res->head_only = req->meth == RP_METH_HEAD;

    char full[PATH_MAX];
    if (conf->root == NULL || !join_under_root(conf->root, path, full, sizeof(full))) {
        finish(res, &fd, 404);
        return 0;
    }
    /* O_NONBLOCK so that a FIFO under root cannot hang the worker in open(); it is rejected
     * below as not a regular file, and has no effect on reads of regular files. */
    const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    fd = open(full, flags);
    if (fd < 0) {
        finish(res, &fd, status_for_errno(errno));
        return 0;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        finish(res, &fd, 500);
        return 0;
    }
    const char *name = full;
    if (S_ISDIR(st.st_mode)) {
        if (path.p[path.n - 1] != '/') {
            finish(res, &fd, make_location(res, path, query));
            return 0;
        }
        /* The index is a plain file name from the config; one with a '/' could reach out of
         * the directory, so it is treated as no index at all. */
        const char *index = conf->index;
        if (index == NULL || index[0] == '\0' || strchr(index, '/') != NULL ||
            is_dot_segment(index, strlen(index))) {
            finish(res, &fd, 404);
            return 0;
        }
        int ifd = openat(fd, index, flags);
        int err = errno;
        close(fd);
        fd = ifd;
        if (fd < 0) {
            finish(res, &fd, status_for_errno(err));
            return 0;
        }
        if (fstat(fd, &st) != 0) {
            finish(res, &fd, 500);
            return 0;
        }
        name = index;
    }
    if (!S_ISREG(st.st_mode)) {
        finish(res, &fd, S_ISDIR(st.st_mode) ? 404 : 403);
        return 0;
    }

    uint64_t size = (uint64_t)st.st_size;
    int64_t mtime = (int64_t)st.st_mtim.tv_sec;
    res->size = size;
    res->mime = rp_mime_type(rp_slice_cstr(name));
    snprintf(res->etag, sizeof(res->etag), "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)mtime, size);
    rp_http_date(mtime, res->last_modified, sizeof(res->last_modified));
    struct rp_slice etag = rp_slice_cstr(res->etag);

    int pre = preconditions(req, etag, mtime);
    if (pre != 0) {
        finish(res, &fd, pre);
        return 0;
    }

    res->status = 200;
    res->offset = 0;
    res->length = size;
    struct rp_slice range;
    /* Range is defined for GET only (RFC 9110 14.2); HEAD answers as a full GET would. */
    if (req->meth == RP_METH_GET && single_hdr(req, "Range", &range) &&
        if_range_holds(req, etag, mtime)) {
        uint64_t off = 0, len = 0;
        switch (parse_range(range, size, &off, &len)) {
        case RANGE_OK:
            res->status = 206;
            res->offset = off;
            res->length = len;
            snprintf(res->content_range, sizeof(res->content_range),
                     "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off, off + len - 1, size);
            break;
        case RANGE_UNSAT:
            finish(res, &fd, 416);
            snprintf(res->content_range, sizeof(res->content_range), "bytes */%" PRIu64, size);
            return 0;
        case RANGE_IGNORE:
            break;
        }
    }
    res->fd = fd;
    return 0;
}
