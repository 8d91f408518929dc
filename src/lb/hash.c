/* Consistent hashing with bounded loads. Each worker builds, per upstream, a ring of points
 * hashed from the servers' identities (100 per unit of configured weight), so adding or
 * removing one of N servers moves about 1/N of the keys and the same key finds the same server
 * in every worker and across restarts. A key goes to the first candidate clockwise from its
 * hash; with hash_balance > 0 a server already above its share of the in-flight load is passed
 * over (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with Bounded Loads"), so one hot
 * key cannot bury a server. */
#include <stdio.h>
#include <stdlib.h>

#include "lb/balancer.h"
#include "lb/server_state.h"

#define POINTS_PER_WEIGHT 100
#define RING_MAX (1u << 18) /* points per ring at most: 3 MiB per worker and upstream */

struct ring_point {
    uint64_t h;
    uint32_t server;
};

struct hash_state {
    uint32_t n;       /* servers */
    uint32_t npoints; /* >= n when n > 0 */
    uint64_t *h;      /* sorted point hashes, searched by the pick */
    uint32_t *server; /* the server of each point */
};

static void hash_free(void *state)
{
    struct hash_state *st = state;
    if (!st)
        return;
    free(st->h);
    free(st->server);
    free(st);
}

/* The hash of a server's identity: the same as the server runtime registry and sticky ids use,
 * so a resolve slot keeps its points whatever address it holds. */
static uint64_t identity_hash(const struct rp_server_conf *s)
{
    char ident[256];
    int n;
    if (s->resolve)
        n = snprintf(ident, sizeof(ident), "%s:%u#%u", s->host ? s->host : "", s->port, s->slot);
    else
        n = snprintf(ident, sizeof(ident), "%s", s->addr.text);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(ident) ? (size_t)n : sizeof(ident) - 1;
    return rp_hash64(ident, len);
}

/* Point k of a server: splitmix64's finaliser over the identity hash and k. */
static uint64_t point_hash(uint64_t ident, uint32_t k)
{
    uint64_t z = ident + (uint64_t)(k + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int point_cmp(const void *a, const void *b)
{
    const struct ring_point *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->server < y->server ? -1 : x->server > y->server; /* equal hashes: stable order */
}

static void *hash_new(const struct rp_upstream_conf *u, bool *ok)
{
    struct hash_state *st = calloc(1, sizeof(*st));
    if (!st)
        goto fail;
    st->n = u->nservers;
    uint64_t wsum = 0;
    for (uint32_t i = 0; i < u->nservers; i++)
        wsum += u->servers[i].weight ? u->servers[i].weight : 1;
    /* a huge total weight thins every server's points alike, keeping the proportions */
    uint64_t want = wsum * POINTS_PER_WEIGHT, total = 0;
    uint32_t *count = calloc(u->nservers ? u->nservers : 1, sizeof(*count));
    if (!count)
        goto fail;
    for (uint32_t i = 0; i < u->nservers; i++) {
        uint64_t w = u->servers[i].weight ? u->servers[i].weight : 1;
        uint64_t c = want <= RING_MAX ? w * POINTS_PER_WEIGHT : RING_MAX * w / wsum;
        count[i] = (uint32_t)(c ? c : 1);
        total += count[i];
    }
    struct ring_point *pts = calloc(total ? total : 1, sizeof(*pts));
    st->h = calloc(total ? total : 1, sizeof(*st->h));
    st->server = calloc(total ? total : 1, sizeof(*st->server));
    if (!pts || !st->h || !st->server) {
        free(pts);
        free(count);
        goto fail;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < u->nservers; i++) {
        uint64_t ident = identity_hash(&u->servers[i]);
        for (uint32_t j = 0; j < count[i]; j++, k++) {
            pts[k].h = point_hash(ident, j);
            pts[k].server = i;
        }
    }
    qsort(pts, k, sizeof(*pts), point_cmp);
    for (uint32_t j = 0; j < k; j++) {
        st->h[j] = pts[j].h;
        st->server[j] = pts[j].server;
    }
    st->npoints = k;
    free(pts);
    free(count);
    return st;
fail:
    hash_free(st);
    *ok = false;
    return NULL;
}

/* The first point at or after key, wrapping to 0 past the last. */
static uint32_t ring_find(const struct hash_state *st, uint64_t key)
{
    uint32_t lo = 0, hi = st->npoints;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (st->h[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == st->npoints ? 0 : lo;
}

static uint64_t inflight_of(const struct rp_server_conf *s)
{
    return s->rt ? atomic_load_explicit(&s->rt->inflight, memory_order_relaxed) : 0;
}

static uint32_t hash_pick(void *state, const struct rp_lb_pick *p)
{
    const struct hash_state *st = state;
    if (!p->has_key || !st || !st->npoints || st->n != p->u->nservers)
        return rp_lb_pick_weighted_random(p);
    /* bounded loads: server i may take a request while inflight_i + 1 <= ceil(c * (T + 1) *
     * w_i / W), T the candidates' in-flight total and W their weight: its weighted share of
     * c times the mean load, counting the request being placed */
    bool bounded = p->u->hash_balance > 0 && p->ncand > 1;
    double scale = 0;
    if (bounded) {
        uint64_t load = 0, wsum = 0;
        for (uint32_t i = 0; i < st->n; i++)
            if (p->weight[i]) {
                load += inflight_of(&p->u->servers[i]);
                wsum += p->weight[i];
            }
        scale = (double)p->u->hash_balance * (double)(load + 1) / (100.0 * (double)wsum);
    }
    uint32_t first = UINT32_MAX;
    uint32_t at = ring_find(st, p->key_hash);
    for (uint32_t step = 0; step < st->npoints; step++, at = at + 1 == st->npoints ? 0 : at + 1) {
        uint32_t s = st->server[at];
        if (!p->weight[s])
            continue;
        if (!bounded)
            return s;
        if (first == UINT32_MAX)
            first = s;
        /* inflight + 1 <= ceil(x) is inflight < x for whole numbers: no rounding needed */
        if ((double)inflight_of(&p->u->servers[s]) < scale * p->weight[s])
            return s;
    }
    /* every candidate is at its bound (only possible with hash_balance below 100) */
    return first != UINT32_MAX ? first : rp_lb_pick_weighted_random(p);
}

const struct rp_balancer rp_lb_hash = {
    .name = "hash",
    .key = RP_LB_KEY_CONFIGURED,
    .help = "consistent hashing of hash_key with bounded loads (hash_balance)",
    .state_new = hash_new,
    .state_free = hash_free,
    .pick = hash_pick,
};
