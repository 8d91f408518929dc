/* Review regressions for issue 4 (load balancing): the sticky cookie must not let anyone who
 * sees it recover the server's address, servers keep separate runtime state whatever the
 * length of their upstream's name, and the latency estimate fades between samples. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lb/balancer.h"
#include "lb/server_state.h"
#include "lb/sticky.h"
#include "test.h"

/* sticky.c: the id is rp_hash64("rampart-sticky\n" upstream "\n" address) with no secret,
 * so a client holding its cookie can try every address of a private /24 and the usual ports
 * offline (a few thousand hashes) and learn the backend's address. */
static void sticky_id_does_not_reveal_the_address(void)
{
    struct rp_server_conf srv[1];
    memset(srv, 0, sizeof(srv));
    snprintf(srv[0].addr.text, sizeof(srv[0].addr.text), "10.1.2.77:8080");
    srv[0].weight = 1;
    struct rp_upstream_conf u;
    memset(&u, 0, sizeof(u));
    u.name = "app";
    u.servers = srv;
    u.nservers = 1;
    char id[RP_STICKY_ID_LEN + 1];
    rp_sticky_id(&u, 0, id);

    static const unsigned ports[] = {80, 443, 3000, 5000, 8000, 8080, 8443, 9000};
    bool recovered = false;
    for (unsigned host = 0; host < 256 && !recovered; host++)
        for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
            char ident[128], guess[RP_STICKY_ID_LEN + 1];
            int n = snprintf(ident, sizeof(ident), "rampart-sticky\n%s\n10.1.2.%u:%u", u.name, host,
                             ports[p]);
            snprintf(guess, sizeof(guess), "%016llx",
                     (unsigned long long)rp_hash64(ident, (size_t)n));
            if (!strcmp(guess, id)) {
                recovered = true;
                break;
            }
        }
    CHECK(!recovered);
}

/* server_state.c: the registry key "upstream\naddress" is cut at 159 bytes, so under a long
 * upstream name two different servers get one key and share health, ejection and in-flight
 * state (and the health checker then checks only one of them). */
static void long_upstream_names_keep_servers_apart(void)
{
    char name[200];
    memset(name, 'u', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "listen: [\"127.0.0.1:18080\"]\n"
             "upstreams:\n"
             "  %s:\n"
             "    servers: [\"127.0.0.1:9001\", \"127.0.0.1:9002\"]\n"
             "routes:\n"
             "  - match: {path_prefix: /}\n"
             "    proxy: %s\n",
             name, name);
    struct rp_cfg_errors errs = {0};
    struct rp_config *cfg = rp_config_load_buffer("t.yaml", yaml, strlen(yaml), &errs);
    for (uint32_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK(cfg->nupstreams == 1 && cfg->upstreams[0].nservers == 2);
        CHECK(cfg->upstreams[0].servers[0].rt != cfg->upstreams[0].servers[1].rt);
        rp_config_unref(cfg);
    }
    rp_cfg_errors_free(&errs);
}

/* server_state.h promises rp_server_ewma_ns(srv, now_us) is "the decayed latency estimate
 * (decay time 10 s)", but server_state.c ignores now_us and decays only when a new sample
 * arrives. p2c compares costs, so a server that once answered slowly loses every comparison,
 * gets no request, hence no sample, and its cost never comes down: it is starved for good. */
static void ewma_decays_without_new_samples(void)
{
    struct rp_server_rt *rt = calloc(1, sizeof(*rt));
    CHECK(rt != NULL);
    if (!rt)
        return;
    atomic_init(&rt->healthy, true);
    atomic_init(&rt->present, true);
    struct rp_server_conf srv[1];
    memset(srv, 0, sizeof(srv));
    snprintf(srv[0].addr.text, sizeof(srv[0].addr.text), "10.0.0.1:80");
    srv[0].weight = 1;
    srv[0].rt = rt;
    struct rp_upstream_conf u;
    memset(&u, 0, sizeof(u));
    u.name = "app";
    u.servers = srv;
    u.nservers = 1;
    /* one 2 s response at t = 1 s */
    rp_server_attempt_result(&u, &srv[0], RP_ATTEMPT_OK, 2000000, 1000);
    uint64_t at_once = rp_server_ewma_ns(&srv[0], 1000000);
    uint64_t a_minute_later = rp_server_ewma_ns(&srv[0], 61000000);
    CHECK(at_once >= 1000000000ULL);
    CHECK(a_minute_later < at_once / 100); /* six decay times: e^-6 */
    free(rt);
}

int main(void)
{
    RUN(ewma_decays_without_new_samples);
    RUN(sticky_id_does_not_reveal_the_address);
    RUN(long_upstream_names_keep_servers_apart);
    TEST_MAIN_END();
}
