/* Client-address hashing in the manner of nginx's ip_hash: the caller hashes the client
 * address (IPv4 by its /24) into key_hash, which is mapped by configured weight onto the
 * servers, so a client keeps its server while the set of servers stays the same. When that
 * server is not a candidate now, the key is rehashed (deterministically, so the same client
 * lands on the same stand-in) a bounded number of times, then the next candidate in server
 * order is taken. Only the clients of an unavailable server move. */
#include <stdlib.h>

#include "lb/balancer.h"

#define REHASH_TRIES 20

struct iph_state {
    uint32_t n;
    uint64_t total; /* sum of configured weights */
    uint64_t cum[]; /* cum[i]: configured weights of servers 0..i */
};

static void *iph_new(const struct rp_upstream_conf *u, bool *ok)
{
    struct iph_state *st =
        calloc(1, sizeof(*st) + (u->nservers ? u->nservers : 1) * sizeof(uint64_t));
    if (!st) {
        *ok = false;
        return NULL;
    }
    st->n = u->nservers;
    for (uint32_t i = 0; i < u->nservers; i++) {
        /* configured, not effective, weights: slow start or health must not remap clients */
        st->total += u->servers[i].weight ? u->servers[i].weight : 1;
        st->cum[i] = st->total;
    }
    return st;
}

/* The server whose weight range holds offset r (< total): binary search of the prefix sums. */
static uint32_t server_at(const struct iph_state *st, uint64_t r)
{
    uint32_t lo = 0, hi = st->n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r < st->cum[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* A new, well-mixed hash of the key for rehash attempt `attempt` (splitmix64's finaliser). */
static uint64_t rehash(uint64_t key, uint32_t attempt)
{
    uint64_t z = key + (uint64_t)attempt * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t iph_pick(void *state, const struct rp_lb_pick *p)
{
    const struct iph_state *st = state;
    if (!p->has_key || !st || !st->n || st->n != p->u->nservers)
        return rp_lb_pick_weighted_random(p);
    uint64_t h = p->key_hash;
    uint32_t i = 0;
    for (uint32_t attempt = 0; attempt <= REHASH_TRIES; attempt++) {
        i = server_at(st, h % st->total);
        if (p->weight[i])
            return i;
        h = rehash(p->key_hash, attempt + 1);
    }
    for (uint32_t k = 1; k <= st->n; k++) {
        uint32_t j = (i + k) % st->n;
        if (p->weight[j])
            return j;
    }
    return i; /* no candidate: the caller never asks then */
}

const struct rp_balancer rp_lb_ip_hash = {
    .name = "ip_hash",
    .key = RP_LB_KEY_CLIENT_NET,
    .help = "client address hashed onto the servers by weight (nginx-like)",
    .state_new = iph_new,
    .state_free = free,
    .pick = iph_pick,
};
