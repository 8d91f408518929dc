/* HTTP/2 client side: the preface check that switches a plain connection to HTTP/2, and the
 * configuration it reads (listener http2 key, the http2 section and its defaults). */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "h2/h2_server.h"
#include "test.h"

static void test_preface(void)
{
    static const char p[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    CHECK_INT(rp_h2_preface_match(p, 24), 1);
    CHECK_INT(rp_h2_preface_match(p, 1), 0);
    CHECK_INT(rp_h2_preface_match(p, 18), 0); /* a complete HTTP/1 head, not yet decided */
    CHECK_INT(rp_h2_preface_match("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nxyz", 27), 1);
    CHECK_INT(rp_h2_preface_match("GET / HTTP/1.1\r\n", 16), -1);
    CHECK_INT(rp_h2_preface_match("PRX", 3), -1);
    CHECK_INT(rp_h2_preface_match("PRI * HTTP/2.0\r\n\r\nSX", 20), -1);
}

static struct rp_config *load(const char *yaml, struct rp_cfg_errors *errs)
{
    return rp_config_load_buffer("t.yaml", yaml, strlen(yaml), errs);
}

static void test_config(void)
{
    struct rp_cfg_errors errs = {0};
    struct rp_config *c = load("listen: [\"127.0.0.1:1\", {address: \"127.0.0.1:2\", http2: "
                               "false}, {address: \"127.0.0.1:3\"}]\n"
                               "routes: [{respond: {status: 200}}]\n",
                               &errs);
    CHECK(c != NULL);
    if (c) {
        CHECK(c->listeners[0].http2);
        CHECK(!c->listeners[1].http2);
        CHECK(c->listeners[2].http2);
        CHECK_INT(c->http2.max_concurrent_streams, 100);
        CHECK_INT(c->http2.initial_window, 128 * 1024);
        CHECK_INT(c->http2.max_resets, 200);
        rp_config_unref(c);
    }
    c = load("listen: \"127.0.0.1:1\"\nroutes: [{respond: {status: 200}}]\n"
             "http2: {max_concurrent_streams: 7, initial_window: 1m, max_resets: 9}\n",
             &errs);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(c->http2.max_concurrent_streams, 7);
        CHECK_INT(c->http2.initial_window, 1024 * 1024);
        CHECK_INT(c->http2.max_resets, 9);
        rp_config_unref(c);
    }
    CHECK_INT(errs.n, 0);
    /* a window below one frame or beyond 2^31-1 is refused */
    c = load("listen: \"127.0.0.1:1\"\nroutes: [{respond: {status: 200}}]\n"
             "http2: {initial_window: 1k}\n",
             &errs);
    CHECK(c == NULL);
    CHECK(errs.n == 1 && strstr(errs.msgs[0], "initial_window"));
    rp_cfg_errors_free(&errs);
    struct rp_cfg_errors errs2 = {0};
    c = load("listen: \"127.0.0.1:1\"\nroutes: [{respond: {status: 200}}]\n"
             "http2: {initial_window: 4g}\n",
             &errs2);
    CHECK(c == NULL && errs2.n == 1);
    rp_cfg_errors_free(&errs2);
}

int main(void)
{
    RUN(test_preface);
    RUN(test_config);
    TEST_MAIN_END();
}
