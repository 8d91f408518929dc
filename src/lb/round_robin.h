/* Smooth weighted round robin (the interleaving nginx uses): each pick adds every server's
 * weight to its running score, takes the highest, and subtracts the total from it. Weights 3:1
 * give a b a a | a b a a ..., never bursts. State is per worker and per config slot, so it
 * needs no lock. The load-balancing issue adds the other algorithms behind an interface. */
#ifndef RP_LB_ROUND_ROBIN_H
#define RP_LB_ROUND_ROBIN_H

#include <stdint.h>

#include "config/config.h"

struct rp_rr_state {
    int64_t *score; /* one per server */
    uint32_t n;
};

/* Allocate state for every upstream of cfg (calloc'd array of cfg->nupstreams). NULL on OOM. */
struct rp_rr_state *rp_rr_states_new(const struct rp_config *cfg);
void rp_rr_states_free(struct rp_rr_state *st, uint32_t n);

/* The index of the next server of u. */
uint32_t rp_rr_pick(struct rp_rr_state *st, const struct rp_upstream_conf *u);

#endif
