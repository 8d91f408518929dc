/* Power of two choices with peak-EWMA cost: draw two distinct candidates uniformly at random
 * and send the request to the cheaper one, cost = latency estimate * (in-flight + 1) / weight.
 *
 * Why this shape: the in-flight and latency figures are shared by every worker and move while
 * they are read, so "pick the global minimum" makes all workers pile onto the same server at
 * once (herding). Comparing just two random candidates avoids the herd, yet cuts the worst
 * server's excess over the mean from about log n / log log n (one random draw) to
 * log log n (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing"). Peak
 * EWMA (src/lb/server_state.c) jumps up at once on a slow response and comes down gradually,
 * so a server that turns slow loses traffic at once; multiplying by in-flight + 1 prices the
 * queue a new request would wait behind. Weight counts once, in the cost: a server of weight
 * 3 is as cheap as one of weight 1 with a third of its queue, so under load the in-flight
 * counts (and the shares) settle near the weights, also with only two servers, where a
 * weighted draw would change nothing (both are always drawn); slow start's reduced weight
 * makes a returning server expensive until it has ramped up. A server without latency
 * samples (0) is costed with its rival's latency, so load alone decides: taking 0 literally
 * would send every request to a freshly started server until its first response came back;
 * when neither has samples the cost is (in-flight + 1) / weight. */
#include "lb/balancer.h"
#include "lb/server_state.h"

static double inflight_of(const struct rp_server_conf *s)
{
    return s->rt ? (double)atomic_load_explicit(&s->rt->inflight, memory_order_relaxed) : 0;
}

/* The n-th candidate (0-based) in server order, leaving out server skip. */
static uint32_t nth_candidate(const struct rp_lb_pick *p, uint32_t n, uint32_t skip)
{
    uint32_t last = UINT32_MAX;
    for (uint32_t i = 0; i < p->u->nservers; i++) {
        if (!p->weight[i] || i == skip)
            continue;
        last = i;
        if (n-- == 0)
            return i;
    }
    return last;
}

static uint32_t p2c_pick(void *st, const struct rp_lb_pick *p)
{
    (void)st;
    uint32_t ncand = 0, only = 0;
    for (uint32_t i = 0; i < p->u->nservers; i++)
        if (p->weight[i]) {
            ncand++;
            only = i;
        }
    if (ncand <= 1)
        return only;
    uint32_t a = nth_candidate(p, (uint32_t)(rp_lb_rand(p->rng) % ncand), UINT32_MAX);
    uint32_t b = nth_candidate(p, (uint32_t)(rp_lb_rand(p->rng) % (ncand - 1)), a);
    if (b == UINT32_MAX)
        return a;
    const struct rp_server_conf *sa = &p->u->servers[a], *sb = &p->u->servers[b];
    double la = (double)rp_server_ewma_ns(sa, p->now_us);
    double lb = (double)rp_server_ewma_ns(sb, p->now_us);
    if (la == 0)
        la = lb;
    if (lb == 0)
        lb = la;
    if (la == 0)
        la = lb = 1; /* neither has samples: load alone */
    double ca = la * (inflight_of(sa) + 1) / p->weight[a];
    double cb = lb * (inflight_of(sb) + 1) / p->weight[b];
    if (ca == cb) /* a tie goes by weight, so idle servers share in proportion */
        return rp_lb_rand(p->rng) % ((uint64_t)p->weight[a] + p->weight[b]) < p->weight[a] ? a : b;
    return cb < ca ? b : a;
}

const struct rp_balancer rp_lb_p2c = {
    .name = "p2c",
    .help = "power of two random choices by peak-EWMA latency and load",
    .state_new = NULL,
    .state_free = NULL,
    .pick = p2c_pick,
};
