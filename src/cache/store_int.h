/* Internals of the memory store shared by store.c (table, accounting, invalidation),
 * store_evict.c (S3-FIFO queues, ghost, eviction) and store_obj.c (body chunks, waiters,
 * references). Not a public interface. */
#ifndef RP_CACHE_STORE_INT_H
#define RP_CACHE_STORE_INT_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>

#include "cache/store.h"

#define RP_STORE_NSHARDS 16
#define RP_STORE_MAX_OBJ_DIV 8 /* an object may use at most budget / 8 bytes */
#define RP_STORE_CHUNK_MIN 512 /* first body chunk; later ones grow with the body */
#define RP_STORE_CHUNK_MAX (256 * 1024)
#define RP_STORE_FREQ_MAX 3   /* the 2-bit S3-FIFO frequency counter */
#define RP_STORE_PROMOTE 1    /* leaving S with freq >= this moves to M */
#define RP_STORE_SMALL_PCT 10 /* S holds about this share of a shard's bytes */

enum { RP_Q_NONE, RP_Q_SMALL, RP_Q_MAIN };

struct rp_store_fifo {
    struct rp_cache_obj *head, *tail; /* insert at head, evict from tail */
    size_t bytes, count;
};

struct rp_store_ghost_slot {
    uint64_t hash; /* 0: empty */
    uint64_t seq;  /* ghost insertion number; live while within the window */
};

struct rp_store_shard {
    alignas(64) pthread_mutex_t mu;
    struct rp_cache_obj **buckets; /* chained by hnext; nbuckets is a power of two */
    size_t nbuckets, count;
    struct rp_store_fifo small, main;
    struct rp_store_ghost_slot *ghost; /* 4-way buckets; nghost slots, a power of two */
    size_t nghost;
    uint64_t ghost_seq;
    _Atomic size_t bytes; /* written under mu; read unlocked to pick an eviction victim */
};

struct rp_cache_store {
    size_t budget, max_obj;
    _Atomic size_t bytes; /* charged bytes of objects in the table plus live reservations */
    _Atomic size_t count;
    struct rp_store_shard shards[RP_STORE_NSHARDS];
};

/* Body chunk directory: entries [0, o->nchunks) are valid; grown by copying into a larger
 * directory while older ones stay allocated (readers may still walk them) until the object
 * is freed. */
struct rp_store_chunk {
    char *p;
    uint64_t start; /* body offset of p[0] */
};
struct rp_store_dir {
    struct rp_store_dir *older;
    size_t cap;
    struct rp_store_chunk e[];
};

struct rp_store_waiter {
    void (*fn)(void *arg);
    void *arg;
};

struct rp_cache_obj {
    struct rp_cache_store *st;
    uint64_t hash;
    struct rp_slice key, head;
    const struct rp_slice *tags;
    size_t ntags;

    /* under the shard lock */
    struct rp_cache_obj *hnext, *qprev, *qnext;
    unsigned char queue; /* RP_Q_*; RP_Q_NONE = not in the table (detached) */
    unsigned char freq;
    size_t size; /* bytes this object accounts for (charged while in the table) */

    _Atomic unsigned refs;
    _Atomic int state;         /* enum rp_cache_obj_state */
    _Atomic uint64_t body_len; /* published after the bytes are written */
    _Atomic size_t nchunks;
    _Atomic(struct rp_store_dir *) dir;

    /* writer only */
    char *cur;
    size_t cur_cap, cur_used;

    pthread_mutex_t wmu; /* leaf lock: the waiter list and state changes */
    _Atomic size_t nwaiters;
    struct rp_store_waiter *waiters;
    size_t waiters_cap;
};

/* store.c */
struct rp_store_shard *rp_store_shard_of(struct rp_cache_store *st, uint64_t hash);
void rp_store_detach(struct rp_store_shard *sh, struct rp_cache_obj *o); /* shard lock held */
bool rp_store_reserve(struct rp_cache_store *st, size_t n);
void rp_store_unreserve(struct rp_cache_store *st, size_t n);
bool rp_store_charge(struct rp_cache_obj *o, size_t n);

/* store_evict.c (shard lock held unless said otherwise) */
void rp_store_fifo_push(struct rp_store_fifo *q, struct rp_cache_obj *o);
void rp_store_fifo_unlink(struct rp_store_fifo *q, struct rp_cache_obj *o);
bool rp_store_ghost_take(struct rp_store_shard *sh, uint64_t hash);
void rp_store_ghost_put(struct rp_store_shard *sh, uint64_t hash);
bool rp_store_evict_one(struct rp_cache_store *st); /* no lock held; false: nothing to evict */

/* store_obj.c */
void rp_store_obj_free(struct rp_cache_obj *o);
void rp_store_obj_fire(struct rp_cache_obj *o, int new_state); /* no lock held */

#endif
