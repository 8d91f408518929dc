/* Power of two choices with peak-EWMA cost: draw two distinct candidates at random by weight
 * and send the request to the cheaper one, cost = latency estimate * (in-flight + 1).
 *
 * Why this shape: the in-flight and latency figures are shared by every worker and move while
 * they are read, so "pick the global minimum" makes all workers pile onto the same server at
 * once (herding). Comparing just two random candidates avoids the herd, yet cuts the worst
 * server's excess over the mean from about log n / log log n (one random draw) to
 * log log n (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing"). Peak
 * EWMA (src/lb/server_state.c) jumps up at once on a slow response and comes down only
 * gradually, so a server that turns slow loses traffic at once; multiplying by
 * in-flight + 1 prices the queue a new request would wait behind. Weight counts once, in the
 * draw (a heavier server is compared more often); dividing the cost by it too would count it
 * twice, and two idle servers weighted 2:1 would then split 1:0 instead of 2:1. A server without
 * latency samples (0) is costed with its rival's latency, so load alone decides: taking 0 literally
 * would send every request to a freshly started server until its first response came back; when
 * neither has samples the cost is in-flight + 1. */
#include "lb/balancer.h"
#include "lb/server_state.h"

static double inflight_of(const struct rp_server_conf *s)
{
    return s->rt ? (double)atomic_load_explicit(&s->rt->inflight, memory_order_relaxed) : 0;
}

/* The candidate at weighted offset r, leaving out server skip (UINT32_MAX: none). */
static uint32_t at_offset(const struct rp_lb_pick *p, uint64_t r, uint32_t skip)
{
    uint32_t last = UINT32_MAX;
    for (uint32_t i = 0; i < p->u->nservers; i++) {
        uint32_t w = p->weight[i];
        if (!w || i == skip)
            continue;
        last = i;
        if (r < w)
            return i;
        r -= w;
    }
    return last;
}

static uint32_t p2c_pick(void *st, const struct rp_lb_pick *p)
{
    (void)st;
    uint64_t total = 0;
    uint32_t only = 0;
    for (uint32_t i = 0; i < p->u->nservers; i++)
        if (p->weight[i]) {
            total += p->weight[i];
            only = i;
        }
    if (p->ncand <= 1 || !total)
        return only;
    uint32_t a = at_offset(p, rp_lb_rand(p->rng) % total, UINT32_MAX);
    uint64_t rest = total - p->weight[a];
    uint32_t b = rest ? at_offset(p, rp_lb_rand(p->rng) % rest, a) : UINT32_MAX;
    if (b == UINT32_MAX)
        return a; /* ncand was stale: a is the only candidate */
    const struct rp_server_conf *sa = &p->u->servers[a], *sb = &p->u->servers[b];
    double la = (double)rp_server_ewma_ns(sa, p->now_us);
    double lb = (double)rp_server_ewma_ns(sb, p->now_us);
    if (la == 0)
        la = lb;
    if (lb == 0)
        lb = la;
    if (la == 0)
        la = lb = 1; /* neither has samples: load alone */
    double ca = la * (inflight_of(sa) + 1);
    double cb = lb * (inflight_of(sb) + 1);
    return cb < ca ? b : a; /* a tie goes to a, itself drawn by weight */
}

const struct rp_balancer rp_lb_p2c = {
    .name = "p2c",
    .help = "power of two random choices by peak-EWMA latency and load",
    .state_new = NULL,
    .state_free = NULL,
    .pick = p2c_pick,
};
