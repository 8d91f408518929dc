/* The balancer registry, per-worker state arrays and the helpers the algorithms share. */
#include "lb/balancer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one line per algorithm */
/* clang-format off */
static const struct rp_balancer *const registry[] = {
    &rp_lb_round_robin,
    &rp_lb_random,
    &rp_lb_least_conn,
    &rp_lb_p2c,
    &rp_lb_ip_hash,
    &rp_lb_hash,
};
/* clang-format on */
#define NREG (sizeof(registry) / sizeof(registry[0]))

const struct rp_balancer *rp_balancer_find(const char *name)
{
    for (size_t i = 0; i < NREG; i++)
        if (!strcmp(registry[i]->name, name))
            return registry[i];
    return NULL;
}

const char *rp_balancer_names(void)
{
    static char names[256];
    if (!names[0]) {
        size_t off = 0;
        for (size_t i = 0; i < NREG && off < sizeof(names); i++)
            off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
                                    registry[i]->name);
    }
    return names;
}

uint64_t rp_lb_rand(uint64_t *rng)
{
    uint64_t x = *rng ? *rng : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

uint32_t rp_lb_pick_weighted_random(const struct rp_lb_pick *p)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < p->u->nservers; i++)
        total += p->weight[i];
    uint64_t r = total ? rp_lb_rand(p->rng) % total : 0;
    uint32_t last = 0;
    for (uint32_t i = 0; i < p->u->nservers; i++) {
        if (!p->weight[i])
            continue;
        last = i;
        if (r < p->weight[i])
            return i;
        r -= p->weight[i];
    }
    return last;
}

void **rp_lb_states_new(const struct rp_config *cfg)
{
    void **st = calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof(*st));
    if (!st)
        return NULL;
    for (uint32_t i = 0; i < cfg->nupstreams; i++) {
        const struct rp_upstream_conf *u = &cfg->upstreams[i];
        const struct rp_balancer *b = u->balancer ? u->balancer : &rp_lb_round_robin;
        bool ok = true;
        st[i] = b->state_new ? b->state_new(u, &ok) : NULL;
        if (!ok) {
            rp_lb_states_free(cfg, st);
            return NULL;
        }
    }
    return st;
}

void rp_lb_states_free(const struct rp_config *cfg, void **st)
{
    if (!st)
        return;
    for (uint32_t i = 0; i < cfg->nupstreams; i++) {
        const struct rp_balancer *b =
            cfg->upstreams[i].balancer ? cfg->upstreams[i].balancer : &rp_lb_round_robin;
        if (st[i] && b->state_free)
            b->state_free(st[i]);
    }
    free(st);
}
