/* Smooth weighted round robin; see round_robin.h. */
#include "lb/round_robin.h"

#include <stdlib.h>

struct rp_rr_state *rp_rr_states_new(const struct rp_config *cfg)
{
    struct rp_rr_state *st = calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof(*st));
    if (!st)
        return NULL;
    for (uint32_t i = 0; i < cfg->nupstreams; i++) {
        st[i].n = cfg->upstreams[i].nservers;
        st[i].score = calloc(st[i].n ? st[i].n : 1, sizeof(*st[i].score));
        if (!st[i].score) {
            rp_rr_states_free(st, i);
            return NULL;
        }
    }
    return st;
}

void rp_rr_states_free(struct rp_rr_state *st, uint32_t n)
{
    if (!st)
        return;
    for (uint32_t i = 0; i < n; i++)
        free(st[i].score);
    free(st);
}

uint32_t rp_rr_pick(struct rp_rr_state *st, const struct rp_upstream_conf *u)
{
    int64_t total = 0;
    uint32_t best = 0;
    for (uint32_t i = 0; i < st->n; i++) {
        int64_t w = u->servers[i].weight ? u->servers[i].weight : 1;
        st->score[i] += w;
        total += w;
        if (st->score[i] > st->score[best])
            best = i;
    }
    st->score[best] -= total;
    return best;
}
