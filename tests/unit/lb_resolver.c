/* Unit test of the resolver thread (src/lb/resolver.c) against two scripted DNS servers on
 * loopback UDP sockets in this process: a SERVFAIL moves the query to the next server, the
 * answer fills the slots, and a round where no server answers keeps the addresses. */
#include <arpa/inet.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "core/clock.h"
#include "lb/resolver.h"
#include "lb/server_state.h"
#include "proxy/worker.h"
#include "test.h"

static int dns_fd[2];
static uint16_t dns_port[2];

static int udp_server(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

/* One query received by server k within ms: its bytes, the sender, and its qtype. */
struct rx {
    uint8_t q[512];
    size_t n, qend; /* qend: just past the question */
    uint16_t qtype;
    struct sockaddr_storage from;
    socklen_t flen;
};

static bool recv_query(int k, int ms, struct rx *r)
{
    struct pollfd p = {.fd = dns_fd[k], .events = POLLIN};
    if (poll(&p, 1, ms) != 1)
        return false;
    r->flen = sizeof(r->from);
    ssize_t n = recvfrom(dns_fd[k], r->q, sizeof(r->q), 0, (struct sockaddr *)&r->from, &r->flen);
    if (n < 17)
        return false;
    r->n = (size_t)n;
    size_t pos = 12;
    while (pos < r->n && r->q[pos])
        pos += r->q[pos] + 1u;
    if (pos + 5 > r->n)
        return false;
    r->qtype = (uint16_t)((r->q[pos + 1] << 8) | r->q[pos + 2]);
    r->qend = pos + 5;
    return true;
}

/* Answer r from server k with rcode and, for A, the given IPv4 addresses (TTL 0). */
static void reply(int k, const struct rx *r, int rcode, const char *const *ips, int nips)
{
    uint8_t b[1024];
    memcpy(b, r->q, r->qend);
    b[2] = 0x81;
    b[3] = (uint8_t)(0x80 | rcode);
    b[4] = 0, b[5] = 1, b[8] = b[9] = b[10] = b[11] = 0;
    size_t n = r->qend;
    int an = 0;
    for (int i = 0; i < nips && r->qtype == 1; i++, an++) {
        static const uint8_t head[] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4};
        memcpy(b + n, head, sizeof(head));
        n += sizeof(head);
        inet_pton(AF_INET, ips[i], b + n);
        n += 4;
    }
    b[6] = 0;
    b[7] = (uint8_t)an;
    sendto(dns_fd[k], b, n, 0, (const struct sockaddr *)&r->from, r->flen);
}

static struct rp_config *cfg;

static bool slot_is(int s, const char *text)
{
    struct rp_sockaddr a;
    const struct rp_server_conf *srv = &cfg->upstreams[0].servers[s];
    bool has = rp_server_addr(srv, &a);
    return text ? has && !strcmp(a.text, text) : !has;
}

/* Some slot holds text. */
static bool held(const char *text)
{
    return slot_is(0, text) || slot_is(1, text);
}

static void test_thread(void)
{
    dns_fd[0] = udp_server(&dns_port[0]);
    dns_fd[1] = udp_server(&dns_port[1]);
    CHECK(dns_fd[0] >= 0 && dns_fd[1] >= 0);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "listen: [{address: \"127.0.0.1:1\"}]\n"
             "upstreams:\n  app: {servers: [\"localhost:8080\"], resolve: 2}\n"
             "resolver: {servers: [\"127.0.0.1:%u\", \"127.0.0.1:%u\"], min_interval: 100ms,\n"
             "           max_interval: 1s, timeout: 300ms}\n"
             "routes: [{match: {path_prefix: /}, proxy: app}]\n",
             dns_port[0], dns_port[1]);
    struct rp_cfg_errors errs = {0};
    cfg = rp_config_load_buffer("resolver-test.yaml", yaml, strlen(yaml), &errs);
    for (uint32_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    rp_cfg_errors_free(&errs);
    CHECK(cfg != NULL);
    if (!cfg)
        return;
    CHECK_INT(cfg->upstreams[0].nservers, 2);
    CHECK(slot_is(0, "127.0.0.1:8080")); /* from the load */
    rp_config_ref(cfg);
    atomic_store(&rp_srv.cfg, cfg);
    atomic_store(&rp_srv.cfg_gen, 1);
    CHECK_INT(rp_resolver_start(), 0);

    /* round 1: server 0 fails A with SERVFAIL and has no AAAA; server 1 answers A */
    struct rx r;
    bool a_retried = false, aaaa_done = false;
    uint64_t end = rp_clock_mono_ms() + 5000;
    while ((!a_retried || !aaaa_done) && rp_clock_mono_ms() < end) {
        if (recv_query(0, 50, &r)) {
            if (r.qtype == 1)
                reply(0, &r, 2, NULL, 0);
            else
                reply(0, &r, 0, NULL, 0), aaaa_done = true;
        }
        if (recv_query(1, 50, &r) && r.qtype == 1) {
            static const char *const ips[] = {"127.0.0.5", "127.0.0.6"};
            reply(1, &r, 0, ips, 2);
            a_retried = true;
        }
    }
    CHECK(a_retried && aaaa_done);
    end = rp_clock_mono_ms() + 2000;
    while (!held("127.0.0.6:8080") && rp_clock_mono_ms() < end)
        usleep(10000);
    /* the load's address goes; the new ones fill the empty slot, then the freed one */
    CHECK(slot_is(1, "127.0.0.5:8080"));
    CHECK(slot_is(0, "127.0.0.6:8080"));

    /* round 2 (after min_interval, TTL 0): nobody answers; every query is tried twice */
    int asked = 0;
    end = rp_clock_mono_ms() + 1500;
    while (rp_clock_mono_ms() < end)
        for (int k = 0; k < 2; k++)
            asked += recv_query(k, 20, &r);
    CHECK(asked >= 4);
    CHECK(slot_is(1, "127.0.0.5:8080")); /* kept through the failure */
    CHECK(slot_is(0, "127.0.0.6:8080"));

    /* round 3: one address left; the other slot empties */
    end = rp_clock_mono_ms() + 3000;
    while (!slot_is(0, NULL) && rp_clock_mono_ms() < end)
        for (int k = 0; k < 2; k++)
            if (recv_query(k, 20, &r)) {
                static const char *const one[] = {"127.0.0.5"};
                reply(k, &r, 0, one, 1);
            }
    CHECK(slot_is(1, "127.0.0.5:8080")); /* untouched */
    CHECK(slot_is(0, NULL));

    rp_resolver_stop();
    rp_resolver_stop(); /* twice is fine */
    atomic_store(&rp_srv.cfg, NULL);
    rp_config_unref(cfg);
    rp_config_unref(cfg);
    close(dns_fd[0]);
    close(dns_fd[1]);
}

static void test_stop_without_start(void)
{
    rp_resolver_stop();
    CHECK(1);
}

int main(void)
{
    RUN(test_stop_without_start);
    RUN(test_thread);
    TEST_MAIN_END();
}
