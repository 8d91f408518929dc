/* Least connections: the candidate with the fewest in-flight requests (over all workers)
 * relative to its weight. Ties are broken by smooth weighted round robin among the tied
 * servers only (as nginx does), so idle servers of equal weight share evenly and unequal
 * weights keep their proportions even when every server is idle. */
#include <stdlib.h>

#include "lb/balancer.h"
#include "lb/server_state.h"

struct lc_state {
    uint32_t n;
    uint32_t *tied;  /* scratch: the servers tied at the lowest load in this pick */
    int64_t score[]; /* smooth round robin scores, one per server, used among ties */
};

static void lc_free(void *state)
{
    struct lc_state *st = state;
    if (st)
        free(st->tied);
    free(st);
}

static void *lc_new(const struct rp_upstream_conf *u, bool *ok)
{
    size_t n = u->nservers ? u->nservers : 1;
    struct lc_state *st = calloc(1, sizeof(*st) + n * sizeof(int64_t));
    if (!st || !(st->tied = calloc(n, sizeof(*st->tied)))) {
        lc_free(st);
        *ok = false;
        return NULL;
    }
    st->n = u->nservers;
    return st;
}

static uint32_t lc_pick(void *state, const struct rp_lb_pick *p)
{
    struct lc_state *st = state;
    uint32_t n = st->n < p->u->nservers ? st->n : p->u->nservers;
    /* the lowest inflight/weight, compared by cross-multiplication (both factors fit in 32
     * bits, so the products cannot overflow); each load is read once, as it moves under us */
    uint64_t best_in = 0, best_w = 0;
    uint32_t ntied = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t w = p->weight[i];
        if (!w)
            continue;
        const struct rp_server_rt *rt = p->u->servers[i].rt;
        uint64_t in = rt ? atomic_load_explicit(&rt->inflight, memory_order_relaxed) : 0;
        if (!ntied || in * best_w < best_in * w) {
            best_in = in;
            best_w = w;
            ntied = 0;
            st->tied[ntied++] = i;
        } else if (in * best_w == best_in * w) {
            st->tied[ntied++] = i;
        }
    }
    if (!ntied)
        return 0; /* no candidate: the caller never asks then */
    if (ntied == 1)
        return st->tied[0];
    /* smooth weighted round robin among the tied */
    int64_t total = 0, top = 0;
    uint32_t pick = st->tied[0];
    for (uint32_t k = 0; k < ntied; k++) {
        uint32_t i = st->tied[k];
        st->score[i] += (int64_t)p->weight[i];
        total += (int64_t)p->weight[i];
        if (!k || st->score[i] > top) {
            pick = i;
            top = st->score[i];
        }
    }
    st->score[pick] -= total;
    return pick;
}

const struct rp_balancer rp_lb_least_conn = {
    .name = "least_conn",
    .help = "fewest in-flight requests relative to weight",
    .state_new = lc_new,
    .state_free = lc_free,
    .pick = lc_pick,
};
