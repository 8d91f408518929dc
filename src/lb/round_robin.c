/* Smooth weighted round robin (the interleaving nginx uses): each pick adds every candidate's
 * weight to its running score, takes the highest, and subtracts the total from it. Weights 3:1
 * give a a b a | a a b a ..., never bursts. Servers that are not candidates this time (down,
 * already tried, full) are skipped without disturbing the others' scores. */
#include <stdlib.h>

#include "lb/balancer.h"

struct rr_state {
    uint32_t n;
    int64_t score[]; /* one per server */
};

static void *rr_new(const struct rp_upstream_conf *u, bool *ok)
{
    struct rr_state *st =
        calloc(1, sizeof(*st) + (u->nservers ? u->nservers : 1) * sizeof(int64_t));
    if (!st) {
        *ok = false;
        return NULL;
    }
    st->n = u->nservers;
    return st;
}

static uint32_t rr_pick(void *state, const struct rp_lb_pick *p)
{
    struct rr_state *st = state;
    int64_t total = 0;
    int64_t best_score = 0;
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < st->n; i++) {
        int64_t w = p->weight[i];
        if (!w)
            continue;
        st->score[i] += w;
        total += w;
        if (best == UINT32_MAX || st->score[i] > best_score) {
            best = i;
            best_score = st->score[i];
        }
    }
    if (best == UINT32_MAX)
        return 0; /* no candidate: the caller never asks then */
    st->score[best] -= total;
    return best;
}

const struct rp_balancer rp_lb_round_robin = {
    .name = "round_robin",
    .help = "smooth weighted round robin (default)",
    .state_new = rr_new,
    .state_free = free,
    .pick = rr_pick,
};
