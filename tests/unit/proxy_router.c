/* Unit tests for route selection: hosts (exact, wildcard, case), paths (exact, prefix, regex),
 * methods, headers, first match wins, no match. Routes come from an inline YAML config. */
#include <pthread.h>

#include "config/config.h"
#include "proxy/router.h"
#include "test.h"

static struct rp_config *cfg;

static const char yaml[] =
    "listen: [\":8080\"]\n"
    "routes:\n"
    "  - match: {host: Example.com, path: /exact}\n" /* #1 */
    "    respond: {status: 201}\n"
    "  - match: {host: \"*.example.com\", path_prefix: /api/}\n" /* #2 */
    "    respond: {status: 202}\n"
    "  - match: {path_regex: \"^/v[0-9]+/(x)?\"}\n" /* #3 */
    "    respond: {status: 203}\n"
    "  - match: {path_prefix: /m/, methods: [GET, HEAD]}\n" /* #4 */
    "    respond: {status: 204}\n"
    "  - match: {path_prefix: /h/, headers: {X-Env: prod, X-Any: \"*\"}}\n" /* #5 */
    "    respond: {status: 205}\n"
    "  - match: {host: [a.test, \"[::1]\"], path_prefix: /}\n" /* #6 */
    "    respond: {status: 206}\n"
    "  - match: {path_prefix: /first}\n" /* #7 */
    "    respond: {status: 207}\n"
    "  - match: {path_prefix: /first/second}\n" /* #8: shadowed by #7 */
    "    respond: {status: 208}\n"
    "  - match: {path_regex: \"^/slow/(a+)+$\"}\n" /* #9: catastrophic pattern */
    "    respond: {status: 209}\n"
    "  - match: {host: \"*\", path: /star}\n" /* #10 */
    "    respond: {status: 210}\n";

static struct rp_header hdrs[4];
static struct rp_msg req;

static void reset_req(const char *method)
{
    memset(&req, 0, sizeof(req));
    req.method = rp_slice_cstr(method);
    req.hdrs = hdrs;
    req.cap_hdrs = 4;
}

static void add_hdr(const char *name, const char *value)
{
    hdrs[req.nhdrs].name = rp_slice_cstr(name);
    hdrs[req.nhdrs].value = rp_slice_cstr(value);
    req.nhdrs++;
}

/* Status of the matched route, or 0 for no match. */
static int route(const char *host, const char *path)
{
    const struct rp_route *r = rp_router_match(cfg, &req, rp_slice_cstr(host), rp_slice_cstr(path));
    return r ? r->respond.status : 0;
}

static void test_hosts(void)
{
    reset_req("GET");
    CHECK_INT(route("example.com", "/exact"), 201);
    CHECK_INT(route("EXAMPLE.COM", "/exact"), 201);
    CHECK_INT(route("example.com", "/exact/"), 0);
    CHECK_INT(route("other.com", "/exact"), 0);
    CHECK_INT(route("a.example.com", "/api/x"), 202);
    CHECK_INT(route("a.b.Example.COM", "/api/x"), 202);
    CHECK_INT(route("example.com", "/api/x"), 0); /* the bare domain is not a subdomain */
    CHECK_INT(route("xexample.com", "/api/x"), 0);
    CHECK_INT(route("A.TEST", "/anything"), 206);
    CHECK_INT(route("[::1]", "/anything"), 206);
    CHECK_INT(route("", "/star"), 210); /* "*" matches even no host */
    CHECK_INT(route("whatever", "/star"), 210);
}

static void test_paths(void)
{
    reset_req("GET");
    CHECK_INT(route("h", "/v1/"), 203);
    CHECK_INT(route("h", "/v12/x"), 203);
    CHECK_INT(route("h", "/v/"), 0);
    CHECK_INT(route("h", "/a/v1/"), 0);
    CHECK_INT(route("h", "/first/second/x"), 207); /* first match wins */
    CHECK_INT(route("h", "/firstly"), 207);
    CHECK_INT(route("h", "/nothing"), 0);
    CHECK_INT(route("h", ""), 0);
    /* a backtracking bomb hits the match limit and falls through instead of hanging */
    char slow[64];
    memset(slow, 'a', sizeof(slow));
    memcpy(slow, "/slow/", 6);
    slow[sizeof(slow) - 2] = '!';
    slow[sizeof(slow) - 1] = '\0';
    CHECK_INT(route("h", slow), 0);
    CHECK_INT(route("h", "/slow/aaa"), 209);
}

static void test_methods_and_headers(void)
{
    reset_req("GET");
    CHECK_INT(route("h", "/m/x"), 204);
    reset_req("HEAD");
    CHECK_INT(route("h", "/m/x"), 204);
    reset_req("get"); /* methods are case-sensitive */
    CHECK_INT(route("h", "/m/x"), 0);
    reset_req("POST");
    CHECK_INT(route("h", "/m/x"), 0);

    reset_req("GET");
    CHECK_INT(route("h", "/h/"), 0);
    add_hdr("x-env", "prod");
    CHECK_INT(route("h", "/h/"), 0); /* X-Any missing */
    add_hdr("X-ANY", "");
    CHECK_INT(route("h", "/h/"), 205);
    reset_req("GET");
    add_hdr("X-Env", "Prod"); /* values are exact */
    add_hdr("X-Any", "1");
    CHECK_INT(route("h", "/h/"), 0);
    add_hdr("X-Env", "prod"); /* any instance may match */
    CHECK_INT(route("h", "/h/"), 205);
}

static void test_host_only(void)
{
    struct rp_slice s = rp_router_host_only(rp_slice_cstr("Example.com.:8080"));
    CHECK_MEM(s.p, s.n, "Example.com");
    s = rp_router_host_only(rp_slice_cstr("example.com"));
    CHECK_MEM(s.p, s.n, "example.com");
    s = rp_router_host_only(rp_slice_cstr("example.com."));
    CHECK_MEM(s.p, s.n, "example.com");
    s = rp_router_host_only(rp_slice_cstr("[::1]:80"));
    CHECK_MEM(s.p, s.n, "[::1]");
    s = rp_router_host_only(rp_slice_cstr("[::1]"));
    CHECK_MEM(s.p, s.n, "[::1]");
    s = rp_router_host_only(rp_slice_cstr(""));
    CHECK_INT(s.n, 0);
    s = rp_router_host_only(rp_slice_cstr(":80"));
    CHECK_INT(s.n, 0);
}

static void *thread_main(void *arg)
{
    int *ok = arg;
    struct rp_msg r = {.method = RP_SLICE_LIT("GET")};
    const struct rp_route *m = rp_router_match(cfg, &r, RP_SLICE_LIT("h"), RP_SLICE_LIT("/v7/x"));
    *ok = m && m->respond.status == 203;
    rp_router_thread_exit();
    return NULL;
}

/* Each thread gets its own match data. */
static void test_threads(void)
{
    pthread_t t[3];
    int ok[3] = {0};
    for (int i = 0; i < 3; i++)
        CHECK_INT(pthread_create(&t[i], NULL, thread_main, &ok[i]), 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECK(ok[i]);
    }
}

int main(void)
{
    struct rp_cfg_errors errs = {0};
    cfg = rp_config_load_buffer("router.yaml", yaml, strlen(yaml), &errs);
    for (uint32_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    CHECK(cfg != NULL);
    if (!cfg)
        TEST_MAIN_END();
    RUN(test_hosts);
    RUN(test_paths);
    RUN(test_methods_and_headers);
    RUN(test_host_only);
    RUN(test_threads);
    rp_router_thread_exit();
    rp_config_unref(cfg);
    rp_cfg_errors_free(&errs);
    TEST_MAIN_END();
}
