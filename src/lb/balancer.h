/* The balancer interface: an algorithm picks one server among candidates that the caller has
 * already filtered (usable, not yet tried, below max_conns, the primary or the backup tier) and
 * weighted (slow start applied). Each algorithm is one file defining one struct rp_balancer;
 * adding one is that file plus a line in the registry (src/lb/balancer.c). State is per
 * worker and per config snapshot, so picks take no lock; shared load figures (in-flight,
 * latency) are read from the servers' runtime state (src/lb/server_state.h). */
#ifndef RP_LB_BALANCER_H
#define RP_LB_BALANCER_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/hash.h" /* rp_hash64 for keys and rings */

/* One pick. */
struct rp_lb_pick {
    const struct rp_upstream_conf *u;
    /* per server index (u->nservers entries): effective weight in thousandths, 0 = not a
     * candidate this time */
    const uint32_t *weight;
    uint32_t ncand;    /* servers with weight > 0; always >= 1 */
    uint64_t key_hash; /* ip_hash / hash: the request's key, hashed (rp_hash64, src/core/hash.h) */
    bool has_key;      /* false: the key was absent (hash then picks like random) */
    uint64_t *rng;     /* the worker's xorshift64 state (rp_lb_rand) */
    uint64_t now_us;   /* monotonic clock */
};

/* What request key an algorithm hashes (the caller computes it only when asked). */
enum rp_lb_key {
    RP_LB_KEY_NONE,
    RP_LB_KEY_CLIENT_NET, /* the client address, IPv4 grouped by /24 (ip_hash) */
    RP_LB_KEY_CONFIGURED, /* upstream hash_key (hash) */
};

struct rp_balancer {
    const char *name; /* as written in `balance:` */
    const char *help; /* one line for docs and errors */
    enum rp_lb_key key;
    /* Per-worker state for upstream u (NULL allowed when stateless; *ok false on OOM). */
    void *(*state_new)(const struct rp_upstream_conf *u, bool *ok);
    void (*state_free)(void *st);
    /* The chosen server index; must have p->weight[i] > 0. */
    uint32_t (*pick)(void *st, const struct rp_lb_pick *p);
};

/* The registry: NULL when name is unknown. */
const struct rp_balancer *rp_balancer_find(const char *name);
/* "round_robin, random, ..." for error messages. */
const char *rp_balancer_names(void);
extern const struct rp_balancer rp_lb_round_robin, rp_lb_random, rp_lb_least_conn, rp_lb_p2c,
    rp_lb_ip_hash, rp_lb_hash;

/* Helpers shared by the algorithms. */
uint64_t rp_lb_rand(uint64_t *rng); /* xorshift64*, never returns for rng=0 */
uint32_t rp_lb_pick_weighted_random(const struct rp_lb_pick *p); /* by weight among cands */

/* Per-worker balancer states of every upstream of a snapshot (array of cfg->nupstreams).
 * NULL on OOM. */
void **rp_lb_states_new(const struct rp_config *cfg);
void rp_lb_states_free(const struct rp_config *cfg, void **st);

#endif
