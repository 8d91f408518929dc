/* Unit tests for active health checks: the accepted-status test, the Host and request a check
 * sends, the response reader (interim responses, split input, Content-Length, chunked and
 * close-delimited bodies, malformed input), and the checker thread itself against a small
 * loopback server and a refused port, following a published config. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "lb/health.h"
#include "lb/health_http.h"
#include "lb/server_state.h"
#include "proxy/worker.h"
#include "test.h"

static struct rp_status_range ranges[] = {{200, 200}, {300, 399}};

static void test_status(void)
{
    struct rp_health_conf h = {0};
    CHECK(rp_hc_status_ok(&h, 200));
    CHECK(rp_hc_status_ok(&h, 399));
    CHECK(!rp_hc_status_ok(&h, 199));
    CHECK(!rp_hc_status_ok(&h, 400));
    CHECK(!rp_hc_status_ok(&h, 503));
    h.status = ranges;
    h.nstatus = 2;
    CHECK(rp_hc_status_ok(&h, 200));
    CHECK(!rp_hc_status_ok(&h, 204));
    CHECK(rp_hc_status_ok(&h, 301));
    CHECK(!rp_hc_status_ok(&h, 404));
}

static struct rp_sockaddr addr_of(const char *text)
{
    struct rp_sockaddr a;
    const char *why = NULL;
    CHECK(rp_sockaddr_parse(text, &a, &why) == 0);
    return a;
}

static void test_request(void)
{
    struct rp_health_conf h = {.method = "HEAD", .path = "/healthz?full=1"};
    struct rp_server_conf srv = {.addr = addr_of("127.0.0.1:9001")};
    struct rp_upstream_conf u = {.name = "app", .health = &h};
    char buf[512];
    size_t n = rp_hc_request(&u, &srv, &srv.addr, buf, sizeof(buf));
    CHECK_MEM(buf, n,
              "HEAD /healthz?full=1 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n"
              "User-Agent: rampart-health-check\r\nConnection: close\r\n\r\n");
    /* the server's name with the port of the address probed */
    srv.host = "backend.local";
    char hb[64];
    CHECK(!strcmp(rp_hc_host(&u, &srv, &srv.addr, hb, sizeof(hb)), "backend.local:9001"));
    /* a resolve slot pairs the name with its configured port */
    srv.resolve = true;
    srv.port = 8080;
    CHECK(!strcmp(rp_hc_host(&u, &srv, &srv.addr, hb, sizeof(hb)), "backend.local:8080"));
    u.host_header = "app.example.com";
    CHECK(!strcmp(rp_hc_host(&u, &srv, &srv.addr, hb, sizeof(hb)), "app.example.com"));
    h.host = "health.example.com";
    CHECK(!strcmp(rp_hc_host(&u, &srv, &srv.addr, hb, sizeof(hb)), "health.example.com"));
    /* defaults when method and path are unset */
    h.method = NULL;
    h.path = NULL;
    n = rp_hc_request(&u, &srv, &srv.addr, buf, sizeof(buf));
    CHECK(n > 0 && !strncmp(buf, "GET / HTTP/1.1\r\nHost: health.example.com\r\n", 41));
    /* nothing that could break the request line or a header */
    h.path = "/a\r\nX-Evil: 1";
    CHECK_INT(rp_hc_request(&u, &srv, &srv.addr, buf, sizeof(buf)), 0);
    h.path = "/";
    h.host = "a b";
    CHECK_INT(rp_hc_request(&u, &srv, &srv.addr, buf, sizeof(buf)), 0);
    h.host = NULL;
    /* too small a buffer */
    CHECK_INT(rp_hc_request(&u, &srv, &srv.addr, buf, 20), 0);
}

/* Feed s whole (eof after it when eof) and return the verdict. */
static enum rp_hc_verdict feed_all(const struct rp_health_conf *h, const char *s, bool eof,
                                   char *why, size_t whyn)
{
    struct rp_hc_resp r;
    rp_hc_resp_init(&r, h);
    size_t used = 0;
    enum rp_hc_verdict v = rp_hc_resp_feed(&r, s, strlen(s), &used, eof);
    if (why)
        snprintf(why, whyn, "%s", r.why);
    rp_hc_resp_free(&r);
    return v;
}

/* Feed s one byte more at a time (as a socket might deliver it), keeping unused bytes. */
static enum rp_hc_verdict feed_bytes(const struct rp_health_conf *h, const char *s, bool eof)
{
    struct rp_hc_resp r;
    rp_hc_resp_init(&r, h);
    size_t len = strlen(s), start = 0;
    enum rp_hc_verdict v = RP_HC_MORE;
    for (size_t end = 1; end <= len && v == RP_HC_MORE; end++) {
        size_t used = 0;
        v = rp_hc_resp_feed(&r, s + start, end - start, &used, eof && end == len);
        start += used;
    }
    rp_hc_resp_free(&r);
    return v;
}

static void test_response_status(void)
{
    struct rp_health_conf h = {.method = "GET"};
    char why[160];
    CHECK_INT(feed_all(&h, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, NULL, 0),
              RP_HC_PASS);
    CHECK_INT(feed_all(&h, "HTTP/1.1 503 Busy\r\n\r\n", false, why, sizeof(why)), RP_HC_FAIL);
    CHECK(!strcmp(why, "status 503"));
    /* incomplete head: more, or a failure at EOF */
    CHECK_INT(feed_all(&h, "HTTP/1.1 200 OK\r\n", false, NULL, 0), RP_HC_MORE);
    CHECK_INT(feed_all(&h, "HTTP/1.1 200 OK\r\n", true, why, sizeof(why)), RP_HC_FAIL);
    CHECK(!strcmp(why, "connection closed in the response head"));
    CHECK_INT(feed_all(&h, "", true, why, sizeof(why)), RP_HC_FAIL);
    CHECK(!strcmp(why, "connection closed before a response"));
    CHECK_INT(feed_all(&h, "SSH-2.0-OpenSSH\r\n\r\n", false, why, sizeof(why)), RP_HC_FAIL);
    CHECK(!strcmp(why, "malformed response head"));
    /* interim responses are skipped */
    CHECK_INT(feed_all(&h, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false,
                       NULL, 0),
              RP_HC_PASS);
    CHECK_INT(
        feed_bytes(&h, "HTTP/1.1 103 Early\r\nLink: </a>\r\n\r\nHTTP/1.1 404 No\r\n\r\n", false),
        RP_HC_FAIL);
    /* the configured ranges */
    h.status = ranges;
    h.nstatus = 2;
    CHECK_INT(feed_all(&h, "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n", false, NULL, 0),
              RP_HC_PASS);
    CHECK_INT(feed_all(&h, "HTTP/1.1 204 No Content\r\n\r\n", false, why, sizeof(why)), RP_HC_FAIL);
    CHECK(!strcmp(why, "status 204"));
    /* a head beyond the cap fails */
    size_t big = RP_HC_HEAD_MAX + 100;
    char *s = malloc(big + 1);
    if (!s)
        return;
    memcpy(s, "HTTP/1.1 200 OK\r\n", 17);
    for (size_t i = 17; i < big; i += 10)
        memcpy(s + i, "X-Pad: a\r\n", i + 10 <= big ? 10 : big - i);
    s[big] = '\0';
    CHECK_INT(feed_all(&h, s, false, NULL, 0), RP_HC_FAIL);
    free(s);
}

static void test_response_body(void)
{
    struct rp_health_conf h = {.method = "GET", .body = "\"status\":\"ok\""};
    char why[160];
    const char *cl = "HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{\"status\":\"ok\"}\n";
    CHECK_INT(feed_all(&h, cl, false, NULL, 0), RP_HC_PASS);
    CHECK_INT(feed_bytes(&h, cl, false), RP_HC_PASS);
    const char *bad = "HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n{\"status\":\"down\"}\n";
    CHECK_INT(feed_all(&h, bad, false, why, sizeof(why)), RP_HC_FAIL);
    CHECK(!strcmp(why, "body lacks \"\"status\":\"ok\"\""));
    CHECK_INT(feed_bytes(&h, bad, false), RP_HC_FAIL);
    /* only the declared length counts: bytes after it are not the body */
    CHECK_INT(feed_all(&h, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno\"status\":\"ok\"", false,
                       NULL, 0),
              RP_HC_FAIL);
    /* chunked: the substring may straddle chunks, as the decoded body holds it */
    const char *ch = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\n{\"sta\r\n9;x=1\r\ntus\":\"ok\"\r\n1\r\n}\r\n0\r\n\r\n";
    CHECK_INT(feed_all(&h, ch, false, NULL, 0), RP_HC_PASS);
    CHECK_INT(feed_bytes(&h, ch, false), RP_HC_PASS);
    const char *chbad = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "3\r\nabc\r\n0\r\n\r\n";
    CHECK_INT(feed_all(&h, chbad, false, NULL, 0), RP_HC_FAIL);
    CHECK_INT(feed_bytes(&h, chbad, false), RP_HC_FAIL);
    CHECK_INT(feed_all(&h, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
                       why, sizeof(why)),
              RP_HC_FAIL);
    CHECK(!strcmp(why, "malformed chunked body"));
    /* close-delimited: more until EOF */
    const char *cd = "HTTP/1.1 200 OK\r\n\r\nall is well";
    CHECK_INT(feed_all(&h, cd, false, NULL, 0), RP_HC_MORE);
    CHECK_INT(feed_all(&h, cd, true, NULL, 0), RP_HC_FAIL);
    CHECK_INT(feed_all(&h, "HTTP/1.1 200 OK\r\n\r\n{\"status\":\"ok\"", false, NULL, 0),
              RP_HC_PASS);
    /* a bad status fails before any body is read */
    CHECK_INT(
        feed_all(&h, "HTTP/1.1 500 Oops\r\nContent-Length: 99\r\n\r\n", false, why, sizeof(why)),
        RP_HC_FAIL);
    CHECK(!strcmp(why, "status 500"));
    /* no body (204): the substring cannot be there */
    CHECK_INT(feed_all(&h, "HTTP/1.1 204 No Content\r\n\r\n", false, NULL, 0), RP_HC_FAIL);
    /* only the first 64 KiB are searched */
    size_t pad = RP_HC_BODY_MAX + 10;
    static char s[RP_HC_BODY_MAX + 200];
    int w = snprintf(s, 96, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", pad + 13);
    size_t hl = w > 0 ? (size_t)w : 0;
    memset(s + hl, 'x', pad);
    memcpy(s + hl + pad, "\"status\":\"ok\"", 14);
    CHECK_INT(feed_all(&h, s, false, NULL, 0), RP_HC_FAIL);
    /* ... and a match right at the start of the body is found */
    memcpy(s + hl, "\"status\":\"ok\"", 13);
    CHECK_INT(feed_all(&h, s, false, NULL, 0), RP_HC_PASS);
}

/* ---- the checker thread against loopback sockets ---- */

struct fake {
    int lfd;
    atomic_int hits;
    atomic_int status; /* what /health answers */
    atomic_bool stop;
    pthread_t th;
};

static void *fake_run(void *arg)
{
    struct fake *f = arg;
    while (!atomic_load(&f->stop)) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        char buf[2048];
        size_t got = 0;
        while (got < sizeof(buf) - 1) {
            ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        buf[got] = '\0';
        if (strstr(buf, "User-Agent: rampart-health-check\r\n"))
            atomic_fetch_add(&f->hits, 1);
        char resp[128];
        int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok",
                         atomic_load(&f->status));
        if (write(fd, resp, (size_t)n) < 0) {
        }
        close(fd);
    }
    return NULL;
}

static int listen_any(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    *port = ntohs(sa.sin_port);
    return fd;
}

static bool wait_for(const struct rp_server_conf *srv, bool healthy, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (atomic_load(&srv->rt->healthy) == healthy)
            return true;
        usleep(10000);
    }
    return false;
}

/* A config with upstream "app" on the two ports and health_check hc (YAML flow map, or
 * NULL for none), published as the current snapshot. */
static struct rp_config *publish(uint16_t p1, uint16_t p2, const char *hc)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "listen: [\"127.0.0.1:1\"]\n"
             "upstreams:\n"
             "  app:\n"
             "    servers: [\"127.0.0.1:%u\", \"127.0.0.1:%u\"]\n"
             "%s%s%s"
             "routes:\n"
             "  - proxy: app\n",
             p1, p2, hc ? "    health_check: " : "", hc ? hc : "", hc ? "\n" : "");
    struct rp_cfg_errors errs = {0};
    struct rp_config *cfg = rp_config_load_buffer("t.yaml", yaml, strlen(yaml), &errs);
    CHECK(cfg != NULL);
    for (uint32_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    rp_cfg_errors_free(&errs);
    if (cfg)
        rp_workers_publish(cfg);
    return cfg;
}

static void test_checker(void)
{
    struct fake f = {0};
    uint16_t good, dead;
    f.lfd = listen_any(&good);
    int dfd = listen_any(&dead);
    CHECK(f.lfd >= 0 && dfd >= 0);
    close(dfd); /* nothing listens there any more: connect refused */
    atomic_store(&f.status, 200);
    struct timeval tv = {.tv_usec = 100000}; /* accept wakes up to see stop */
    setsockopt(f.lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    pthread_create(&f.th, NULL, fake_run, &f);

    const char *hc = "{path: /health, body: ok, interval: 40ms, timeout: 500ms, rise: 2, fall: 2}";
    struct rp_config *cfg = publish(good, dead, hc);
    if (!cfg)
        goto out;
    const struct rp_server_conf *sg = &cfg->upstreams[0].servers[0];
    const struct rp_server_conf *sd = &cfg->upstreams[0].servers[1];
    CHECK_INT(rp_health_start(), 0);
    CHECK(wait_for(sd, false, 3000)); /* refused: down after fall */
    CHECK(atomic_load(&sg->rt->healthy));
    atomic_store(&f.status, 503);
    CHECK(wait_for(sg, false, 3000));
    CHECK(atomic_load(&f.hits) >= 2);
    atomic_store(&f.status, 200);
    CHECK(wait_for(sg, true, 3000));

    /* a reload: the state lives on (the refused server stays down without falling again), the
     * new settings apply (a status list the 200 is not in) */
    cfg = publish(good, dead, "{path: /health, status: [204, \"3xx\"], interval: 40ms, fall: 2}");
    if (!cfg)
        goto stop;
    sg = &cfg->upstreams[0].servers[0];
    sd = &cfg->upstreams[0].servers[1];
    CHECK(!atomic_load(&sd->rt->healthy));
    CHECK(wait_for(sg, false, 3000));
    /* tcp: connecting is enough; refused is not */
    cfg = publish(good, dead, "{type: tcp, interval: 40ms, rise: 1}");
    if (!cfg)
        goto stop;
    sg = &cfg->upstreams[0].servers[0];
    sd = &cfg->upstreams[0].servers[1];
    CHECK(wait_for(sg, true, 3000));
    usleep(200000);
    CHECK(!atomic_load(&sd->rt->healthy));
    /* no checks any more: nothing can bring a server back, so all count as up, and the
     * checker leaves them alone */
    cfg = publish(good, dead, NULL);
    if (!cfg)
        goto stop;
    CHECK(atomic_load(&cfg->upstreams[0].servers[1].rt->healthy));
    usleep(300000); /* the checker has followed */
    int hits = atomic_load(&f.hits);
    usleep(300000);
    CHECK_INT(atomic_load(&f.hits), hits);
stop:
    rp_health_stop();
    rp_health_stop(); /* twice is fine */
    rp_workers_publish(NULL);
out:
    atomic_store(&f.stop, true);
    pthread_join(f.th, NULL);
    close(f.lfd);
}

int main(void)
{
    RUN(test_status);
    RUN(test_request);
    RUN(test_response_status);
    RUN(test_response_body);
    RUN(test_checker);
    rp_health_stop(); /* never started here: a no-op */
    TEST_MAIN_END();
}
