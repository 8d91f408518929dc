/* S3-FIFO eviction for the memory store (Yang et al., SOSP 2023), run per shard: new objects
 * enter the small FIFO S (about 10 % of a shard's bytes) unless their key is in the ghost
 * queue G, then they enter the main FIFO M. Hits bump a 2-bit frequency.
 *
 * Evicting from S: an object hit at least once while there (freq >= RP_STORE_PROMOTE = 1)
 * moves to M's head keeping its frequency; one never hit is dropped and its key hash goes to
 * G. (The paper's text promotes objects "accessed more than once", counting the insertion;
 * a hit after insertion is that second access here.) Evicting from M: freq > 0 is decremented
 * and the object goes back to M's head; freq 0 is dropped. G remembers hashes only, and only
 * the last N ghost insertions count, N being the shard's object count (mostly M's, as M holds
 * ~90 % of the bytes): a bounded FIFO without a list, kept in a 4-way set-associative table
 * where a newer entry may push out an older one (a lost ghost only means one more pass
 * through S).
 *
 * Objects still filling can be evicted like the others: readers holding a reference keep
 * them alive and the writer finishes them outside the store. Which shard gives up an object
 * is the one currently holding the most bytes, so shards stay even, as the hash spreads keys
 * evenly, and the whole approximates one global S3-FIFO. */
#include "cache/store_int.h"

#include <stdlib.h>

void rp_store_fifo_push(struct rp_store_fifo *q, struct rp_cache_obj *o)
{
    o->qprev = NULL;
    o->qnext = q->head;
    if (q->head)
        q->head->qprev = o;
    else
        q->tail = o;
    q->head = o;
    q->count++;
    q->bytes += o->size;
}

void rp_store_fifo_unlink(struct rp_store_fifo *q, struct rp_cache_obj *o)
{
    if (o->qprev)
        o->qprev->qnext = o->qnext;
    else
        q->head = o->qnext;
    if (o->qnext)
        o->qnext->qprev = o->qprev;
    else
        q->tail = o->qprev;
    o->qprev = o->qnext = NULL;
    q->count--;
    q->bytes -= o->size;
}

/* ---- ghost ---- */

#define GHOST_WAYS 4

static uint64_t ghost_window(const struct rp_store_shard *sh)
{
    return sh->count > 16 ? sh->count : 16;
}

static bool ghost_live(const struct rp_store_shard *sh, const struct rp_store_ghost_slot *g)
{
    return g->hash && sh->ghost_seq - g->seq <= ghost_window(sh);
}

static struct rp_store_ghost_slot *ghost_set(struct rp_store_shard *sh, uint64_t hash)
{
    size_t nsets = sh->nghost / GHOST_WAYS;
    return &sh->ghost[((hash >> 20) & (nsets - 1)) * GHOST_WAYS];
}

static void ghost_insert(struct rp_store_shard *sh, uint64_t hash, uint64_t seq)
{
    struct rp_store_ghost_slot *set = ghost_set(sh, hash), *victim = &set[0];
    for (int i = 0; i < GHOST_WAYS; i++) {
        if (!ghost_live(sh, &set[i])) {
            victim = &set[i];
            break;
        }
        if (set[i].seq < victim->seq)
            victim = &set[i];
    }
    victim->hash = hash;
    victim->seq = seq;
}

/* Keep about two slots per live ghost so that collisions rarely push out live ones. */
static void ghost_fit(struct rp_store_shard *sh)
{
    size_t want = 64;
    while (want < 2 * ghost_window(sh))
        want *= 2;
    if (sh->nghost >= want)
        return;
    struct rp_store_ghost_slot *old = sh->ghost;
    size_t nold = sh->nghost;
    struct rp_store_ghost_slot *g = calloc(want, sizeof(*g));
    if (!g)
        return;
    sh->ghost = g;
    sh->nghost = want;
    for (size_t i = 0; i < nold; i++)
        if (ghost_live(sh, &old[i]))
            ghost_insert(sh, old[i].hash, old[i].seq);
    free(old);
}

void rp_store_ghost_put(struct rp_store_shard *sh, uint64_t hash)
{
    ghost_fit(sh);
    if (!sh->nghost)
        return;
    ghost_insert(sh, hash, ++sh->ghost_seq);
}

bool rp_store_ghost_take(struct rp_store_shard *sh, uint64_t hash)
{
    if (!sh->nghost)
        return false;
    struct rp_store_ghost_slot *set = ghost_set(sh, hash);
    for (int i = 0; i < GHOST_WAYS; i++)
        if (set[i].hash == hash && ghost_live(sh, &set[i])) {
            set[i].hash = 0;
            return true;
        }
    return false;
}

/* ---- eviction ---- */

/* The S3-FIFO victim of one shard, still in the table; NULL when the shard is empty. Ends:
 * every pass either drops an object, moves one from S to M, or spends one unit of an M
 * object's frequency. */
static struct rp_cache_obj *shard_victim(struct rp_store_shard *sh)
{
    for (;;) {
        struct rp_store_fifo *s = &sh->small, *m = &sh->main;
        size_t total = s->bytes + m->bytes;
        if (s->count && (s->bytes * 100 >= total * RP_STORE_SMALL_PCT || !m->count)) {
            struct rp_cache_obj *o = s->tail;
            if (o->freq < RP_STORE_PROMOTE) {
                rp_store_ghost_put(sh, o->hash);
                return o;
            }
            rp_store_fifo_unlink(s, o);
            o->queue = RP_Q_MAIN;
            rp_store_fifo_push(m, o);
        } else if (m->count) {
            struct rp_cache_obj *o = m->tail;
            if (!o->freq)
                return o;
            o->freq--;
            rp_store_fifo_unlink(m, o);
            rp_store_fifo_push(m, o);
        } else {
            return NULL;
        }
    }
}

bool rp_store_evict_one(struct rp_cache_store *st)
{
    /* a few tries: another thread may empty the chosen shard between the pick and the lock */
    for (int tries = 0; tries < RP_STORE_NSHARDS; tries++) {
        struct rp_store_shard *pick = NULL;
        size_t most = 0;
        for (int i = 0; i < RP_STORE_NSHARDS; i++) {
            size_t b = atomic_load_explicit(&st->shards[i].bytes, memory_order_relaxed);
            if (b > most) {
                most = b;
                pick = &st->shards[i];
            }
        }
        if (!pick)
            return false;
        pthread_mutex_lock(&pick->mu);
        struct rp_cache_obj *o = shard_victim(pick);
        if (o)
            rp_store_detach(pick, o);
        pthread_mutex_unlock(&pick->mu);
        if (o) {
            rp_cache_obj_unref(o);
            return true;
        }
    }
    return false;
}
