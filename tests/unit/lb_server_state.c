/* Unit tests for the shared server state: the registry keeping state across snapshots, usable
 * states and slow-start weights, passive ejection with its growth and its cap, rise/fall, the
 * retry budget, and resolve-slot addresses. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/clock.h"
#include "lb/server_state.h"
#include "test.h"

static struct rp_config *load(const char *yaml)
{
    struct rp_cfg_errors errs = {0};
    struct rp_config *c = rp_config_load_buffer("t.yaml", yaml, strlen(yaml), &errs);
    for (uint32_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    rp_cfg_errors_free(&errs);
    return c;
}

#define HEAD "listen: [\":8080\"]\nroutes: [{proxy: a}]\nupstreams:\n"

static void test_registry_keeps_state(void)
{
    struct rp_config *c1 = load(HEAD "  a: {servers: [\"127.0.0.1:1\", \"127.0.0.1:2\"]}\n");
    CHECK(c1 != NULL);
    if (!c1)
        return;
    struct rp_server_rt *rt = c1->upstreams[0].servers[1].rt;
    atomic_store(&rt->requests, 41);
    /* a reload that keeps 127.0.0.1:2 (now first) and adds a server */
    struct rp_config *c2 =
        load(HEAD "  a: {servers: [\"127.0.0.1:2\", \"127.0.0.1:3\"], health_check: {}}\n");
    CHECK(c2 != NULL);
    if (c2) {
        CHECK(c2->upstreams[0].servers[0].rt == rt);
        CHECK(c2->upstreams[0].servers[1].rt != rt);
        CHECK(c2->upstreams[0].rt == c1->upstreams[0].rt);
    }
    rp_config_unref(c1);
    if (c2) /* still alive through c2 */
        CHECK_INT(atomic_load(&c2->upstreams[0].servers[0].rt->requests), 41);
    rp_config_unref(c2);
    struct rp_config *c3 = load(HEAD "  a: {servers: [\"127.0.0.1:2\"]}\n");
    CHECK(c3 && atomic_load(&c3->upstreams[0].servers[0].rt->requests) == 0); /* gone, new */
    rp_config_unref(c3);
}

static void test_states_and_slow_start(void)
{
    struct rp_config *c =
        load(HEAD "  a:\n    servers:\n"
                  "      - {address: \"127.0.0.1:1\", weight: 2, slow_start: 10s}\n"
                  "      - {address: \"127.0.0.1:2\", drain: true}\n"
                  "    health_check: {rise: 2, fall: 2}\n");
    CHECK(c != NULL);
    if (!c)
        return;
    const struct rp_upstream_conf *u = &c->upstreams[0];
    const struct rp_server_conf *s = &u->servers[0];
    uint64_t now = rp_clock_mono_ms();
    CHECK_INT(rp_server_state(s, now), RP_SRV_UP);
    CHECK_INT(rp_server_eff_weight(s, now), 2000); /* no ramp at start */
    CHECK_INT(rp_server_state(&u->servers[1], now), RP_SRV_DRAIN);
    CHECK_INT(rp_server_eff_weight(&u->servers[1], now), 0);
    rp_server_check_result(u, s, false, "x");
    CHECK_INT(rp_server_state(s, now), RP_SRV_UP); /* fall 2 */
    rp_server_check_result(u, s, false, "x");
    CHECK_INT(rp_server_state(s, now), RP_SRV_DOWN);
    rp_server_check_result(u, s, true, NULL);
    CHECK_INT(rp_server_state(s, now), RP_SRV_DOWN); /* rise 2 */
    rp_server_check_result(u, s, true, NULL);
    now = rp_clock_mono_ms();
    CHECK_INT(rp_server_state(s, now), RP_SRV_UP);
    uint32_t w0 = rp_server_eff_weight(s, now);
    uint32_t w5 = rp_server_eff_weight(s, now + 5000);
    CHECK(w0 >= 1 && w0 < 100);
    CHECK(w5 >= 950 && w5 <= 1050); /* half of 2000 after half the ramp */
    CHECK_INT(rp_server_eff_weight(s, now + 10000), 2000);
    rp_config_unref(c);
}

static void test_ejection(void)
{
    struct rp_config *c = load(
        HEAD
        "  a:\n    servers: [\"127.0.0.1:1\", \"127.0.0.1:2\", \"127.0.0.1:3\", \"127.0.0.1:4\"]\n"
        "    outlier: {failures: 3, base_ejection: 1s, max_ejection: 3s, max_ejected: 50}\n");
    CHECK(c != NULL);
    if (!c)
        return;
    const struct rp_upstream_conf *u = &c->upstreams[0];
    uint64_t now = 1000000;
    for (int i = 0; i < 2; i++)
        rp_server_attempt_result(u, &u->servers[0], RP_ATTEMPT_CONNECT_FAIL, 0, now);
    rp_server_attempt_result(u, &u->servers[0], RP_ATTEMPT_OK, 100, now);
    for (int i = 0; i < 2; i++) /* an OK in between resets the count */
        rp_server_attempt_result(u, &u->servers[0], RP_ATTEMPT_5XX, 100, now);
    CHECK_INT(rp_server_state(&u->servers[0], now), RP_SRV_UP);
    rp_server_attempt_result(u, &u->servers[0], RP_ATTEMPT_5XX, 100, now);
    CHECK_INT(rp_server_state(&u->servers[0], now), RP_SRV_EJECTED);
    CHECK_INT(rp_server_state(&u->servers[0], now + 999), RP_SRV_EJECTED);
    CHECK_INT(rp_server_state(&u->servers[0], now + 1000), RP_SRV_UP);
    /* a second server may go (2 of 4 = 50%), a third may not */
    for (int i = 0; i < 3; i++) {
        rp_server_attempt_result(u, &u->servers[1], RP_ATTEMPT_TIMEOUT, 0, now);
        rp_server_attempt_result(u, &u->servers[2], RP_ATTEMPT_RESET, 0, now);
    }
    CHECK_INT(rp_server_state(&u->servers[1], now), RP_SRV_EJECTED);
    CHECK_INT(rp_server_state(&u->servers[2], now), RP_SRV_UP);
    /* cancelled attempts say nothing */
    for (int i = 0; i < 10; i++)
        rp_server_attempt_result(u, &u->servers[3], RP_ATTEMPT_CANCELLED, 0, now);
    CHECK_INT(rp_server_state(&u->servers[3], now), RP_SRV_UP);
    /* repeated ejections double, up to max_ejection */
    now += 1000;
    for (int i = 0; i < 3; i++)
        rp_server_attempt_result(u, &u->servers[0], RP_ATTEMPT_CONNECT_FAIL, 0, now);
    CHECK_INT(rp_server_state(&u->servers[0], now + 1999), RP_SRV_EJECTED);
    CHECK_INT(rp_server_state(&u->servers[0], now + 2000), RP_SRV_UP);
    now += 2000;
    for (int i = 0; i < 3; i++)
        rp_server_attempt_result(u, &u->servers[0], RP_ATTEMPT_CONNECT_FAIL, 0, now);
    CHECK_INT(rp_server_state(&u->servers[0], now + 2999), RP_SRV_EJECTED);
    CHECK_INT(rp_server_state(&u->servers[0], now + 3000), RP_SRV_UP);
    CHECK(atomic_load(&u->servers[0].rt->failures) >= 11);
    CHECK(atomic_load(&u->servers[0].rt->ewma_ns) > 0);
    /* peak EWMA: a slow sample counts at once; unpicked, the estimate decays (tau 10 s) */
    rp_server_attempt_result(u, &u->servers[3], RP_ATTEMPT_OK, 50000, now);
    uint64_t at = now * 1000;
    CHECK_INT(rp_server_ewma_ns(&u->servers[3], at), 50000000);
    uint64_t later = rp_server_ewma_ns(&u->servers[3], at + 10000000);
    CHECK(later > 18000000 && later < 19000000); /* 50 ms / e */
    rp_server_attempt_result(u, &u->servers[3], RP_ATTEMPT_OK, 1000, now);
    CHECK(rp_server_ewma_ns(&u->servers[3], at) > 1000000); /* a fast one only pulls it down */
    rp_config_unref(c);
}

static void test_lone_server_never_ejected(void)
{
    struct rp_config *c = load(HEAD "  a: {servers: [\"127.0.0.1:1\"], outlier: {failures: 2}}\n");
    CHECK(c != NULL);
    if (!c)
        return;
    const struct rp_upstream_conf *u = &c->upstreams[0];
    for (int i = 0; i < 10; i++)
        rp_server_attempt_result(u, &u->servers[0], RP_ATTEMPT_5XX, 0, 1000);
    CHECK_INT(rp_server_state(&u->servers[0], 1000), RP_SRV_UP);
    rp_config_unref(c);
    /* two servers, one down by health checks: the other is not ejected (50%) */
    c = load(HEAD "  a: {servers: [\"127.0.0.1:1\", \"127.0.0.1:2\"], health_check: {fall: 1},\n"
                  "      outlier: {failures: 2}}\n");
    if (!c)
        return;
    u = &c->upstreams[0];
    rp_server_check_result(u, &u->servers[1], false, "x");
    for (int i = 0; i < 10; i++)
        rp_server_attempt_result(u, &u->servers[0], RP_ATTEMPT_RESET, 0, 1000);
    CHECK_INT(rp_server_state(&u->servers[0], 1000), RP_SRV_UP);
    rp_config_unref(c);
}

static void test_budget(void)
{
    struct rp_config *c = load(HEAD "  a:\n    servers: [\"127.0.0.1:1\"]\n"
                                    "    retries: {budget: 20, budget_min: 0}\n");
    CHECK(c != NULL);
    if (!c)
        return;
    const struct rp_upstream_conf *u = &c->upstreams[0];
    uint64_t now = 5000000;             /* the start of a window */
    CHECK(!rp_lb_budget_retry(u, now)); /* nothing seen: nothing to spend */
    for (int i = 0; i < 100; i++)
        rp_lb_budget_request(u, now);
    int allowed = 0;
    for (int i = 0; i < 100; i++)
        allowed += rp_lb_budget_retry(u, now);
    CHECK_INT(allowed, 20);
    /* the next window still sees the previous one; the one after does not */
    CHECK(!rp_lb_budget_retry(u, now + 10000));
    for (int i = 0; i < 50; i++)
        rp_lb_budget_request(u, now + 10000);
    CHECK_INT(rp_lb_budget_retry(u, now + 10000), 1); /* 150 requests: 30 allowed, 20 spent */
    for (int i = 0; i < 20; i++)
        rp_lb_budget_retry(u, now + 10000);
    CHECK(!rp_lb_budget_retry(u, now + 10000));
    CHECK(!rp_lb_budget_retry(u, now + 30000)); /* both windows old: nothing */
    CHECK(atomic_load(&u->rt->budget_denied) >= 3);
    rp_config_unref(c);
    c = load(HEAD
             "  a:\n    servers: [\"127.0.0.1:1\"]\n    retries: {budget: 0, budget_min: 2}\n");
    if (c) { /* 2 per second over 10 s */
        allowed = 0;
        for (int i = 0; i < 100; i++)
            allowed += rp_lb_budget_retry(&c->upstreams[0], 7000000);
        CHECK_INT(allowed, 20);
    }
    rp_config_unref(c);
}

static void test_resolve_slots(void)
{
    struct rp_config *c =
        load(HEAD "  a: {servers: [\"localhost:9\", \"127.0.0.1:1\"], resolve: 2}\n");
    CHECK(c != NULL);
    if (!c)
        return;
    const struct rp_upstream_conf *u = &c->upstreams[0];
    CHECK_INT(u->nservers, 3);
    struct rp_sockaddr a;
    CHECK(rp_server_addr(&u->servers[0], &a) && strstr(a.text, ":9"));
    bool second = rp_server_addr(&u->servers[1], &a); /* localhost may have ::1 too */
    CHECK(!second || strstr(a.text, ":9"));
    CHECK(rp_server_addr(&u->servers[2], &a) && !strcmp(a.text, "127.0.0.1:1"));
    struct rp_sockaddr n;
    CHECK(rp_sockaddr_parse("127.0.0.7:9", &n, &(const char *){0}) == 0);
    rp_server_addr_set(&u->servers[1], &n);
    CHECK(rp_server_addr(&u->servers[1], &a) && !strcmp(a.text, "127.0.0.7:9"));
    CHECK_INT(rp_server_state(&u->servers[1], rp_clock_mono_ms()), RP_SRV_UP);
    rp_server_addr_set(&u->servers[1], NULL);
    CHECK(!rp_server_addr(&u->servers[1], &a));
    CHECK_INT(rp_server_state(&u->servers[1], rp_clock_mono_ms()), RP_SRV_ABSENT);
    rp_config_unref(c);
}

int main(void)
{
    RUN(test_registry_keeps_state);
    RUN(test_states_and_slow_start);
    RUN(test_ejection);
    RUN(test_lone_server_never_ejected);
    RUN(test_budget);
    RUN(test_resolve_slots);
    TEST_MAIN_END();
}
