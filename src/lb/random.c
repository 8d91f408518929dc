/* Weighted random: each pick draws a candidate with probability proportional to its effective
 * weight. Stateless, so workers never coordinate, and over many picks the shares match the
 * weights without the bursts a shared counter would need a lock to avoid. */
#include "lb/balancer.h"

static uint32_t random_pick(void *st, const struct rp_lb_pick *p)
{
    (void)st;
    return rp_lb_pick_weighted_random(p);
}

const struct rp_balancer rp_lb_random = {
    .name = "random",
    .help = "weighted random",
    .state_new = NULL,
    .state_free = NULL,
    .pick = random_pick,
};
