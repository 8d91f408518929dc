/* Unit tests for the static file handler: a temporary root with a 10-byte file, a directory with
 * an index and one without, then status, offsets, lengths and validators for each request shape
 * (plain, HEAD, directories, traversal, ranges, conditionals, methods). */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handler/static_file.h"
#include "test.h"

/* 1994-11-06 08:49:37 UTC, the RFC 9110 example date: a fixed mtime gives a known ETag. */
#define MTIME 784111777
#define MTIME_STR "Sun, 06 Nov 1994 08:49:37 GMT"
#define ETAG "\"2ebc98a1-a\""

static char root[256]; /* short, so joined test paths always fit */
static struct rp_static_conf conf;

static void write_file(const char *rel, const char *data)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK_INT(write(fd, data, strlen(data)), (long long)strlen(data));
    struct timespec ts[2] = {{MTIME, 0}, {MTIME, 0}};
    CHECK_INT(futimens(fd, ts), 0);
    close(fd);
}

static void make_dir(const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    CHECK_INT(mkdir(p, 0755), 0);
}

static void remove_tree(void)
{
    static const char *const files[] = {"ten.txt", "sub/index.html", "empty.txt",
                                        "a b.css", "noindex/x",      "link.txt"};
    static const char *const dirs[] = {"sub", "noindex"};
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, files[i]);
        unlink(p);
    }
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
        rmdir(p);
    }
    rmdir(root);
}

/* One request: method, path, and up to four header name/value pairs (NULL-terminated). */
static struct rp_static_result run(enum rp_method meth, const char *path, const char *query,
                                   const char *h1, const char *v1, const char *h2, const char *v2)
{
    struct rp_header hdrs[2];
    struct rp_msg req = {0};
    req.meth = meth;
    req.hdrs = hdrs;
    req.cap_hdrs = 2;
    if (h1) {
        hdrs[req.nhdrs++] = (struct rp_header){rp_slice_cstr(h1), rp_slice_cstr(v1)};
    }
    if (h2) {
        hdrs[req.nhdrs++] = (struct rp_header){rp_slice_cstr(h2), rp_slice_cstr(v2)};
    }
    struct rp_slice q = query ? rp_slice_cstr(query) : RP_SLICE_NULL;
    struct rp_static_result res;
    CHECK_INT(rp_static_resolve(&conf, rp_slice_cstr(path), q, &req, &res), 0);
    return res;
}

static struct rp_static_result get(const char *path, const char *h, const char *v)
{
    return run(RP_METH_GET, path, NULL, h, v, NULL, NULL);
}

static void done(struct rp_static_result *r)
{
    if (r->fd >= 0)
        close(r->fd);
}

/* The served fd really holds the file: read the chosen window back. */
static void check_body(const struct rp_static_result *r, const char *want)
{
    char buf[64] = {0};
    CHECK(r->fd >= 0);
    if (r->fd < 0)
        return;
    CHECK_INT(pread(r->fd, buf, (size_t)r->length, (off_t)r->offset), (long long)strlen(want));
    CHECK_MEM(buf, (size_t)r->length, want);
}

static void test_plain_get(void)
{
    struct rp_static_result r = get("/ten.txt", NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.offset, 0);
    CHECK_INT(r.length, 10);
    CHECK_INT(r.size, 10);
    CHECK(!r.head_only);
    CHECK(strcmp(r.mime, "text/plain; charset=utf-8") == 0);
    CHECK(strcmp(r.etag, ETAG) == 0);
    CHECK(strcmp(r.last_modified, MTIME_STR) == 0);
    CHECK(r.content_range[0] == '\0');
    check_body(&r, "0123456789");
    done(&r);

    /* percent-encoded name */
    r = get("/a%20b.css", NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK(strcmp(r.mime, "text/css; charset=utf-8") == 0);
    done(&r);

    /* symlink inside root is followed */
    r = get("/link.txt", NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.length, 10);
    done(&r);

    r = get("/empty.txt", "Range", "bytes=-5");
    CHECK_INT(r.status, 200);
    CHECK_INT(r.length, 0);
    done(&r);
}

static void test_head(void)
{
    struct rp_static_result r = run(RP_METH_HEAD, "/ten.txt", NULL, NULL, NULL, NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.head_only);
    CHECK_INT(r.length, 10);
    CHECK(strcmp(r.etag, ETAG) == 0);
    done(&r);

    /* Range is defined for GET only */
    r = run(RP_METH_HEAD, "/ten.txt", NULL, "Range", "bytes=0-1", NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.length, 10);
    done(&r);
}

static void test_directories(void)
{
    struct rp_static_result r = get("/sub/", NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK(strcmp(r.mime, "text/html; charset=utf-8") == 0);
    check_body(&r, "<h1>hi</h1>");
    done(&r);

    r = run(RP_METH_GET, "/sub", "a=1", NULL, NULL, NULL, NULL);
    CHECK_INT(r.status, 301);
    CHECK(strcmp(r.location, "/sub/?a=1") == 0);
    CHECK_INT(r.fd, -1);

    r = get("/sub", NULL, NULL);
    CHECK_INT(r.status, 301);
    CHECK(strcmp(r.location, "/sub/") == 0);

    /* never a scheme-relative Location */
    r = get("//sub", NULL, NULL);
    CHECK_INT(r.status, 301);
    CHECK(strcmp(r.location, "/sub/") == 0);

    r = get("/", NULL, NULL); /* root has no index.html */
    CHECK_INT(r.status, 404);
    r = get("/noindex/", NULL, NULL);
    CHECK_INT(r.status, 404);
    CHECK_INT(r.fd, -1);

    const char *saved = conf.index;
    conf.index = NULL;
    r = get("/sub/", NULL, NULL);
    CHECK_INT(r.status, 404);
    conf.index = saved;
}

static void test_not_found_and_traversal(void)
{
    static const char *const bad[] = {
        "/missing.txt",
        "/../etc/passwd",
        "/sub/../../etc/passwd",
        "/%2e%2e/etc/passwd",
        "/..%2fetc/passwd",
        "/./ten.txt",
        "/ten.txt/..",
        "/ten%00.txt",
        "/ten.txt/",
        "ten.txt",
        "/bad%zz",
        "/bad%2",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rp_static_result r = get(bad[i], NULL, NULL);
        if (r.status != 404)
            fprintf(stderr, "path %s\n", bad[i]);
        CHECK_INT(r.status, 404);
        CHECK_INT(r.fd, -1);
    }
}

static void test_ranges(void)
{
    struct rp_static_result r = get("/ten.txt", "Range", "bytes=0-9");
    CHECK_INT(r.status, 206);
    CHECK_INT(r.offset, 0);
    CHECK_INT(r.length, 10);
    CHECK(strcmp(r.content_range, "bytes 0-9/10") == 0);
    done(&r);

    r = get("/ten.txt", "Range", "bytes=5-");
    CHECK_INT(r.status, 206);
    CHECK_INT(r.offset, 5);
    CHECK_INT(r.length, 5);
    CHECK(strcmp(r.content_range, "bytes 5-9/10") == 0);
    check_body(&r, "56789");
    done(&r);

    r = get("/ten.txt", "Range", "bytes=-3");
    CHECK_INT(r.status, 206);
    CHECK_INT(r.offset, 7);
    CHECK_INT(r.length, 3);
    CHECK(strcmp(r.content_range, "bytes 7-9/10") == 0);
    done(&r);

    r = get("/ten.txt", "Range", "bytes=-30"); /* suffix longer than the file: all of it */
    CHECK_INT(r.status, 206);
    CHECK_INT(r.offset, 0);
    CHECK_INT(r.length, 10);
    done(&r);

    r = get("/ten.txt", "Range", "bytes=2-1000"); /* end clamped */
    CHECK_INT(r.status, 206);
    CHECK_INT(r.length, 8);
    CHECK(strcmp(r.content_range, "bytes 2-9/10") == 0);
    done(&r);

    r = get("/ten.txt", "Range", "BYTES = 1-1"); /* no OWS allowed around '=': ignored */
    CHECK_INT(r.status, 200);
    done(&r);

    r = get("/ten.txt", "Range", "Bytes=1-1, "); /* unit is case-insensitive, empty elements ok */
    CHECK_INT(r.status, 206);
    CHECK_INT(r.length, 1);
    done(&r);

    r = get("/ten.txt", "Range", "bytes=100-");
    CHECK_INT(r.status, 416);
    CHECK_INT(r.fd, -1);
    CHECK(strcmp(r.content_range, "bytes */10") == 0);

    r = get("/ten.txt", "Range", "bytes=-0");
    CHECK_INT(r.status, 416);

    r = get("/ten.txt", "Range", "bytes=99999999999999999999999-");
    CHECK_INT(r.status, 416);

    static const char *const ignored[] = {"bytes=0-1,3-4", "bytes=5-2",    "bytes=abc",
                                          "items=0-1",     "bytes=",       "bytes=1-2x",
                                          "bytes=--1",     "bytes=0-1 ,-2"};
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
        r = get("/ten.txt", "Range", ignored[i]);
        if (r.status != 200)
            fprintf(stderr, "range %s\n", ignored[i]);
        CHECK_INT(r.status, 200);
        CHECK_INT(r.offset, 0);
        CHECK_INT(r.length, 10);
        CHECK(r.content_range[0] == '\0');
        done(&r);
    }
}

static void test_if_range(void)
{
    struct rp_static_result r =
        run(RP_METH_GET, "/ten.txt", NULL, "Range", "bytes=0-1", "If-Range", ETAG);
    CHECK_INT(r.status, 206);
    done(&r);

    r = run(RP_METH_GET, "/ten.txt", NULL, "Range", "bytes=0-1", "If-Range", "\"other\"");
    CHECK_INT(r.status, 200);
    CHECK_INT(r.length, 10);
    done(&r);

    r = run(RP_METH_GET, "/ten.txt", NULL, "Range", "bytes=0-1", "If-Range", "W/" ETAG);
    CHECK_INT(r.status, 200);
    done(&r);

    r = run(RP_METH_GET, "/ten.txt", NULL, "Range", "bytes=0-1", "If-Range", MTIME_STR);
    CHECK_INT(r.status, 206);
    done(&r);

    r = run(RP_METH_GET, "/ten.txt", NULL, "Range", "bytes=0-1", "If-Range",
            "Wed, 09 Nov 1994 08:49:37 GMT");
    CHECK_INT(r.status, 200);
    done(&r);
}

static void test_conditionals(void)
{
    struct rp_static_result r = get("/ten.txt", "If-None-Match", ETAG);
    CHECK_INT(r.status, 304);
    CHECK_INT(r.fd, -1);
    CHECK(strcmp(r.etag, ETAG) == 0); /* validators still go out with a 304 */
    CHECK(strcmp(r.last_modified, MTIME_STR) == 0);

    r = get("/ten.txt", "If-None-Match", "*");
    CHECK_INT(r.status, 304);

    r = get("/ten.txt", "If-None-Match", "\"x\", W/" ETAG); /* weak comparison */
    CHECK_INT(r.status, 304);

    r = get("/ten.txt", "If-None-Match", "\"x\", \"y\"");
    CHECK_INT(r.status, 200);
    done(&r);

    r = run(RP_METH_HEAD, "/ten.txt", NULL, "If-None-Match", ETAG, NULL, NULL);
    CHECK_INT(r.status, 304);

    r = get("/ten.txt", "If-Modified-Since", "Sun, 06 Nov 1994 08:49:38 GMT");
    CHECK_INT(r.status, 304);
    r = get("/ten.txt", "If-Modified-Since", MTIME_STR);
    CHECK_INT(r.status, 304);
    r = get("/ten.txt", "If-Modified-Since", "Sun, 06 Nov 1994 08:49:36 GMT");
    CHECK_INT(r.status, 200);
    done(&r);
    r = get("/ten.txt", "If-Modified-Since", "garbage");
    CHECK_INT(r.status, 200);
    done(&r);
    r = get("/ten.txt", "If-Modified-Since", "Fri, 01 Jan 9999 00:00:00 GMT"); /* future */
    CHECK_INT(r.status, 200);
    done(&r);

    /* If-None-Match present: If-Modified-Since is not looked at */
    r = run(RP_METH_GET, "/ten.txt", NULL, "If-None-Match", "\"x\"", "If-Modified-Since",
            "Sun, 06 Nov 1994 08:49:38 GMT");
    CHECK_INT(r.status, 200);
    done(&r);

    r = get("/ten.txt", "If-Match", ETAG);
    CHECK_INT(r.status, 200);
    done(&r);
    r = get("/ten.txt", "If-Match", "*");
    CHECK_INT(r.status, 200);
    done(&r);
    r = get("/ten.txt", "If-Match", "W/" ETAG); /* strong comparison */
    CHECK_INT(r.status, 412);
    CHECK_INT(r.fd, -1);
    r = get("/ten.txt", "If-Match", "\"nope\"");
    CHECK_INT(r.status, 412);

    r = get("/ten.txt", "If-Unmodified-Since", "Sat, 05 Nov 1994 08:49:37 GMT");
    CHECK_INT(r.status, 412);
    r = get("/ten.txt", "If-Unmodified-Since", MTIME_STR);
    CHECK_INT(r.status, 200);
    done(&r);

    /* If-Match true then If-None-Match true: 304 */
    r = run(RP_METH_GET, "/ten.txt", NULL, "If-Match", ETAG, "If-None-Match", ETAG);
    CHECK_INT(r.status, 304);
    /* precondition beats Range */
    r = run(RP_METH_GET, "/ten.txt", NULL, "If-None-Match", ETAG, "Range", "bytes=0-1");
    CHECK_INT(r.status, 304);
}

static void test_methods(void)
{
    static const enum rp_method other[] = {RP_METH_POST, RP_METH_PUT, RP_METH_DELETE,
                                           RP_METH_OPTIONS, RP_METH_OTHER};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        struct rp_static_result r = run(other[i], "/ten.txt", NULL, NULL, NULL, NULL, NULL);
        CHECK_INT(r.status, 405);
        CHECK_INT(r.fd, -1);
    }
}

static void test_mime(void)
{
    CHECK(strcmp(rp_mime_type(rp_slice_cstr("/a/b.HTML")), "text/html; charset=utf-8") == 0);
    CHECK(strcmp(rp_mime_type(rp_slice_cstr("x.md")), "text/markdown; charset=utf-8") == 0);
    CHECK(strcmp(rp_mime_type(rp_slice_cstr("x.woff2")), "font/woff2") == 0);
    CHECK(strcmp(rp_mime_type(rp_slice_cstr("x.js")), "text/javascript; charset=utf-8") == 0);
    CHECK(strcmp(rp_mime_type(rp_slice_cstr("x.wasm")), "application/wasm") == 0);
    CHECK(strcmp(rp_mime_type(rp_slice_cstr("x.tar.gz")), "application/gzip") == 0);
    CHECK(strcmp(rp_mime_type(rp_slice_cstr("/dir.d/README")), "application/octet-stream") == 0);
    CHECK(strcmp(rp_mime_type(rp_slice_cstr("/.html")), "application/octet-stream") == 0);
    CHECK(strcmp(rp_mime_type(rp_slice_cstr("x.")), "application/octet-stream") == 0);
    CHECK(strcmp(rp_mime_type(rp_slice_cstr("")), "application/octet-stream") == 0);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof(root), "%s/rp_static_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    write_file("ten.txt", "0123456789");
    write_file("empty.txt", "");
    write_file("a b.css", "b{}");
    make_dir("sub");
    write_file("sub/index.html", "<h1>hi</h1>");
    make_dir("noindex");
    write_file("noindex/x", "x");
    char link[PATH_MAX];
    snprintf(link, sizeof(link), "%s/link.txt", root);
    CHECK_INT(symlink("ten.txt", link), 0);
    conf.root = root;
    conf.index = "index.html";

    /* Every path that does not hand out an fd must close what it opened: the lowest free
     * descriptor is the same before and after all the tests. */
    int fd_before = dup(0);
    close(fd_before);

    RUN(test_plain_get);
    RUN(test_head);
    RUN(test_directories);
    RUN(test_not_found_and_traversal);
    RUN(test_ranges);
    RUN(test_if_range);
    RUN(test_conditionals);
    RUN(test_methods);
    RUN(test_mime);

    int fd_after = dup(0);
    close(fd_after);
    CHECK_INT(fd_after, fd_before);

    remove_tree();
    TEST_MAIN_END();
}
