/* Micro-benchmark of the load balancers: nanoseconds per pick of every algorithm for a few
 * upstream sizes, printed as a markdown table. It times the pick alone, on one thread, with
 * fixed loads and latencies; nothing here is a test. Usage: lb_pick_bench [picks]. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lb/balancer.h"
#include "lb/server_state.h"

struct shape {
    const char *label;
    uint32_t n;
    bool mixed; /* weights 1..4 instead of all 1 */
};

struct algo {
    const char *label;
    const struct rp_balancer *b;
    uint32_t hash_balance;
};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per pick of algorithm a on an upstream of shape s; -1 on OOM. */
static double run(const struct algo *a, const struct shape *s, uint64_t picks)
{
    struct rp_upstream_conf u = {.name = "bench", .hash_balance = a->hash_balance};
    struct rp_server_conf *srv = calloc(s->n, sizeof(*srv));
    uint32_t *w = calloc(s->n, sizeof(*w));
    double ns = -1;
    if (!srv || !w)
        goto out;
    u.servers = srv;
    u.nservers = s->n;
    uint64_t rng = 0x5eed;
    for (uint32_t i = 0; i < s->n; i++) {
        snprintf(srv[i].addr.text, sizeof(srv[i].addr.text), "10.%u.%u.1:80", i / 256, i % 256);
        srv[i].weight = s->mixed ? 1 + i % 4 : 1;
        w[i] = srv[i].weight * 1000;
        if (!(srv[i].rt = calloc(1, sizeof(*srv[i].rt))))
            goto out;
        /* a few requests in flight and 1-10 ms latencies, so the load-aware ones compare */
        atomic_store(&srv[i].rt->inflight, (unsigned)(rp_lb_rand(&rng) % 8));
        atomic_store(&srv[i].rt->ewma_ns, 1000000 + rp_lb_rand(&rng) % 9000000);
    }
    bool ok = true;
    void *st = a->b->state_new ? a->b->state_new(&u, &ok) : NULL;
    if (!ok)
        goto out;
    struct rp_lb_pick p = {
        .u = &u, .weight = w, .ncand = s->n, .has_key = true, .rng = &rng, .now_us = 1};
    uint64_t sink = 0, key = 0x1234;
    for (uint64_t i = 0; i < picks / 10; i++) { /* warm the caches and the branch predictors */
        p.key_hash = rp_lb_rand(&key);
        sink += a->b->pick(st, &p);
    }
    double t0 = now_ns();
    for (uint64_t i = 0; i < picks; i++) {
        p.key_hash = rp_lb_rand(&key);
        sink += a->b->pick(st, &p);
    }
    ns = (now_ns() - t0) / (double)picks;
    if (sink == UINT64_MAX)
        printf("(unlikely)\n"); /* keeps the picks from being optimised away */
    if (st && a->b->state_free)
        a->b->state_free(st);
out:
    for (uint32_t i = 0; srv && i < s->n; i++)
        free(srv[i].rt);
    free(srv);
    free(w);
    return ns;
}

int main(int argc, char **argv)
{
    uint64_t picks = 2000000;
    if (argc > 1) {
        char *end;
        unsigned long long v = strtoull(argv[1], &end, 10);
        if (*end || !v) {
            fprintf(stderr, "usage: %s [picks]\n", argv[0]);
            return 2;
        }
        picks = v;
    }
    static const struct shape shapes[] = {
        {"2", 2, false}, {"16", 16, false}, {"256", 256, false}, {"16, weights 1-4", 16, true}};
    const struct algo algos[] = {
        {"round_robin", &rp_lb_round_robin, 0},
        {"random", &rp_lb_random, 0},
        {"least_conn", &rp_lb_least_conn, 0},
        {"p2c", &rp_lb_p2c, 0},
        {"ip_hash", &rp_lb_ip_hash, 0},
        {"hash (hash_balance 0)", &rp_lb_hash, 0},
        {"hash (hash_balance 125)", &rp_lb_hash, 125},
    };
    size_t nshapes = sizeof(shapes) / sizeof(shapes[0]);
    printf("ns per pick, %llu picks each (servers:", (unsigned long long)picks);
    for (size_t j = 0; j < nshapes; j++)
        printf(" %s%s", shapes[j].label, j + 1 < nshapes ? ";" : ")\n\n");
    printf("| balancer |");
    for (size_t j = 0; j < nshapes; j++)
        printf(" %s |", shapes[j].label);
    printf("\n|---|");
    for (size_t j = 0; j < nshapes; j++)
        printf("---:|");
    printf("\n");
    for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++) {
        printf("| %s |", algos[i].label);
        for (size_t j = 0; j < nshapes; j++) {
            double ns = run(&algos[i], &shapes[j], picks);
            if (ns < 0)
                printf(" OOM |");
            else
                printf(" %.1f |", ns);
            fflush(stdout);
        }
        printf("\n");
    }
    return 0;
}
