/* Least connections: the candidate with the fewest in-flight requests (over all workers)
 * relative to its weight. Ties are broken by smooth weighted round robin among the tied
 * servers only (as nginx does), so idle servers of equal weight share evenly and unequal
 * weights keep their proportions even when every server is idle. */
#include <stdlib.h>

#include "lb/balancer.h"
#include "lb/server_state.h"

struct lc_state {
    uint32_t n;
    int64_t score[]; /* smooth round robin scores, one per server, used among ties */
};

static void *lc_new(const struct rp_upstream_conf *u, bool *ok)
{
    struct lc_state *st =
        calloc(1, sizeof(*st) + (u->nservers ? u->nservers : 1) * sizeof(int64_t));
    if (!st) {
        *ok = false;
        return NULL;
    }
    st->n = u->nservers;
    return st;
}

static uint64_t inflight_of(const struct rp_server_conf *s)
{
    return s->rt ? atomic_load_explicit(&s->rt->inflight, memory_order_relaxed) : 0;
}

static uint32_t lc_pick(void *state, const struct rp_lb_pick *p)
{
    struct lc_state *st = state;
    uint32_t n = st->n < p->u->nservers ? st->n : p->u->nservers;
    /* first pass: the lowest inflight/weight, compared by cross-multiplication (both factors
     * fit in 32 bits, so the products cannot overflow) */
    uint64_t best_in = 0, best_w = 0;
    uint32_t best = UINT32_MAX, ntied = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t w = p->weight[i];
        if (!w)
            continue;
        uint64_t in = inflight_of(&p->u->servers[i]);
        if (best == UINT32_MAX || in * best_w < best_in * w) {
            best = i;
            best_in = in;
            best_w = w;
            ntied = 1;
        } else if (in * best_w == best_in * w) {
            ntied++;
        }
    }
    if (best == UINT32_MAX)
        return 0; /* no candidate: the caller never asks then */
    if (ntied == 1)
        return best;
    /* second pass: smooth weighted round robin among the tied (the loads are read again: another
     * worker may have changed them, and a server that is no longer tied is simply left out) */
    int64_t total = 0, top = 0;
    uint32_t pick = UINT32_MAX;
    for (uint32_t i = best; i < n; i++) {
        uint64_t w = p->weight[i];
        if (!w || inflight_of(&p->u->servers[i]) * best_w != best_in * w)
            continue;
        st->score[i] += (int64_t)w;
        total += (int64_t)w;
        if (pick == UINT32_MAX || st->score[i] > top) {
            pick = i;
            top = st->score[i];
        }
    }
    if (pick == UINT32_MAX)
        return best;
    st->score[pick] -= total;
    return pick;
}

const struct rp_balancer rp_lb_least_conn = {
    .name = "least_conn",
    .help = "fewest in-flight requests relative to weight",
    .state_new = lc_new,
    .state_free = free,
    .pick = lc_pick,
};
