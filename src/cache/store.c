/* The memory store's table and accounting (see store.h): 16 shards, each a chained hash
 * table with its own mutex and S3-FIFO queues (store_evict.c), a global byte count kept with
 * atomics, and invalidation by key, prefix and tag.
 *
 * Locking: a thread holds at most one shard lock at a time (eviction of other shards happens
 * after the current one is released), and an object's waiter lock (wmu) is a leaf that is
 * never held while taking a shard lock; waiter callbacks run with no lock held. So there is
 * no lock order to get wrong.
 *
 * Accounting: an object in the table is charged sizeof(struct rp_cache_obj) + key + head +
 * tags (slices and bytes) + the capacity of its body chunks and chunk directories. Bytes are
 * reserved against the budget before being charged (evicting until they fit), so the count
 * never exceeds the budget. An object leaves the accounting as soon as it leaves the table
 * (replaced, removed, purged, evicted, aborted); its memory lives on until the last reference
 * goes. Hash buckets and ghost entries (16 bytes per slot) are small metadata outside the
 * budget. An object may account for at most budget / 8 bytes: insert returns NULL above that
 * and append aborts the object when its body would cross it. */
#include "cache/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

/* rp_hash64, never 0 (the ghost table's empty marker). */
static uint64_t key_hash(struct rp_slice k)
{
    uint64_t h = rp_hash64(k.p, k.n);
    return h ? h : 1;
}

struct rp_store_shard *rp_store_shard_of(struct rp_cache_store *st, uint64_t hash)
{
    /* the top bits pick the shard, the low bits the bucket inside it */
    return &st->shards[hash >> 60];
}

struct rp_cache_store *rp_cache_store_new(size_t budget)
{
    size_t sz = (sizeof(struct rp_cache_store) + 63) & ~(size_t)63;
    struct rp_cache_store *st = aligned_alloc(64, sz);
    if (!st)
        return NULL;
    memset(st, 0, sz);
    st->budget = budget;
    st->max_obj = budget / RP_STORE_MAX_OBJ_DIV;
    atomic_init(&st->bytes, 0);
    atomic_init(&st->count, 0);
    for (int i = 0; i < RP_STORE_NSHARDS; i++) {
        struct rp_store_shard *sh = &st->shards[i];
        pthread_mutex_init(&sh->mu, NULL);
        atomic_init(&sh->bytes, 0);
        sh->nbuckets = 64;
        sh->buckets = calloc(sh->nbuckets, sizeof(*sh->buckets));
        if (!sh->buckets) {
            for (int j = 0; j <= i; j++) {
                free(st->shards[j].buckets);
                pthread_mutex_destroy(&st->shards[j].mu);
            }
            free(st);
            return NULL;
        }
    }
    return st;
}

void rp_cache_store_free(struct rp_cache_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < RP_STORE_NSHARDS; i++) {
        struct rp_store_shard *sh = &st->shards[i];
        for (size_t b = 0; b < sh->nbuckets; b++)
            while (sh->buckets[b]) {
                struct rp_cache_obj *o = sh->buckets[b];
                rp_store_detach(sh, o);
                rp_cache_obj_unref(o);
            }
        free(sh->buckets);
        free(sh->ghost);
        pthread_mutex_destroy(&sh->mu);
    }
    free(st);
}

/* Remove o from its bucket and queue and from the accounting. The table's reference is the
 * caller's to drop (after unlocking, preferably). */
void rp_store_detach(struct rp_store_shard *sh, struct rp_cache_obj *o)
{
    struct rp_cache_obj **pp = &sh->buckets[o->hash & (sh->nbuckets - 1)];
    while (*pp != o)
        pp = &(*pp)->hnext;
    *pp = o->hnext;
    o->hnext = NULL;
    rp_store_fifo_unlink(o->queue == RP_Q_MAIN ? &sh->main : &sh->small, o);
    o->queue = RP_Q_NONE;
    sh->count--;
    atomic_fetch_sub_explicit(&sh->bytes, o->size, memory_order_relaxed);
    atomic_fetch_sub(&o->st->bytes, o->size);
    atomic_fetch_sub(&o->st->count, 1);
}

/* Take n bytes of the budget, evicting until they fit; false when they cannot (the table is
 * empty and other threads' reservations still leave too little: rare, that insert or append
 * then fails as if the object were too large). */
bool rp_store_reserve(struct rp_cache_store *st, size_t n)
{
    if (n > st->budget)
        return false;
    size_t cur = atomic_load(&st->bytes);
    for (;;) {
        if (cur + n <= st->budget) {
            if (atomic_compare_exchange_weak(&st->bytes, &cur, cur + n))
                return true;
            continue;
        }
        if (!rp_store_evict_one(st))
            return false;
        cur = atomic_load(&st->bytes);
    }
}

void rp_store_unreserve(struct rp_cache_store *st, size_t n)
{
    atomic_fetch_sub(&st->bytes, n);
}

/* Account n more bytes to o (a new body chunk or directory), within the per-object limit.
 * A detached object is not charged (it is no longer the store's) but keeps the limit. */
bool rp_store_charge(struct rp_cache_obj *o, size_t n)
{
    struct rp_cache_store *st = o->st;
    struct rp_store_shard *sh = rp_store_shard_of(st, o->hash);
    if (o->size + n > st->max_obj) /* only this writer changes o->size */
        return false;
    pthread_mutex_lock(&sh->mu);
    bool attached = o->queue != RP_Q_NONE;
    if (!attached)
        o->size += n;
    pthread_mutex_unlock(&sh->mu);
    if (!attached)
        return true;
    /* reserving may evict from any shard, so it runs with no lock held */
    if (!rp_store_reserve(st, n))
        return false;
    pthread_mutex_lock(&sh->mu);
    o->size += n;
    if (o->queue != RP_Q_NONE) {
        (o->queue == RP_Q_MAIN ? &sh->main : &sh->small)->bytes += n;
        atomic_fetch_add_explicit(&sh->bytes, n, memory_order_relaxed);
    } else {
        rp_store_unreserve(st, n); /* evicted meanwhile: nothing to charge */
    }
    pthread_mutex_unlock(&sh->mu);
    return true;
}

static struct rp_cache_obj *find(struct rp_store_shard *sh, uint64_t h, struct rp_slice key)
{
    for (struct rp_cache_obj *o = sh->buckets[h & (sh->nbuckets - 1)]; o; o = o->hnext)
        if (o->hash == h && rp_slice_eq(o->key, key))
            return o;
    return NULL;
}

struct rp_cache_obj *rp_cache_lookup(struct rp_cache_store *st, struct rp_slice key)
{
    uint64_t h = key_hash(key);
    struct rp_store_shard *sh = rp_store_shard_of(st, h);
    pthread_mutex_lock(&sh->mu);
    struct rp_cache_obj *o = find(sh, h, key);
    if (o) {
        if (o->freq < RP_STORE_FREQ_MAX)
            o->freq++;
        atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&sh->mu);
    return o;
}

/* Double the bucket array when the shard holds more objects than buckets; on OOM the chains
 * just get longer. */
static void maybe_grow(struct rp_store_shard *sh)
{
    if (sh->count < sh->nbuckets)
        return;
    size_t nb = sh->nbuckets * 2;
    struct rp_cache_obj **b = calloc(nb, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < sh->nbuckets; i++)
        while (sh->buckets[i]) {
            struct rp_cache_obj *o = sh->buckets[i];
            sh->buckets[i] = o->hnext;
            o->hnext = b[o->hash & (nb - 1)];
            b[o->hash & (nb - 1)] = o;
        }
    free(sh->buckets);
    sh->buckets = b;
    sh->nbuckets = nb;
}

static struct rp_cache_obj *obj_new(struct rp_cache_store *st, struct rp_slice key,
                                    struct rp_slice head, const struct rp_slice *tags, size_t ntags,
                                    size_t *total)
{
    size_t sz = sizeof(struct rp_cache_obj) + ntags * sizeof(struct rp_slice) + key.n + head.n;
    for (size_t i = 0; i < ntags; i++)
        sz += tags[i].n;
    *total = sz;
    if (sz > st->max_obj)
        return NULL;
    struct rp_cache_obj *o = calloc(1, sz);
    if (!o)
        return NULL;
    struct rp_slice *t = (struct rp_slice *)(o + 1);
    char *p = (char *)(t + ntags);
    o->st = st;
    o->hash = key_hash(key);
    if (key.n)
        memcpy(p, key.p, key.n);
    o->key = (struct rp_slice){p, key.n};
    p += key.n;
    if (head.n)
        memcpy(p, head.p, head.n);
    o->head = (struct rp_slice){p, head.n};
    p += head.n;
    for (size_t i = 0; i < ntags; i++) {
        if (tags[i].n)
            memcpy(p, tags[i].p, tags[i].n);
        t[i] = (struct rp_slice){p, tags[i].n};
        p += tags[i].n;
    }
    o->tags = t;
    o->ntags = ntags;
    o->size = sz;
    atomic_init(&o->refs, 2); /* the table's and the writer's */
    atomic_init(&o->state, RP_OBJ_FILLING);
    atomic_init(&o->body_len, 0);
    atomic_init(&o->nchunks, 0);
    atomic_init(&o->dir, NULL);
    atomic_init(&o->nwaiters, 0);
    pthread_mutex_init(&o->wmu, NULL);
    return o;
}

struct rp_cache_obj *rp_cache_insert(struct rp_cache_store *st, struct rp_slice key,
                                     struct rp_slice head, const struct rp_slice *tags,
                                     size_t ntags)
{
    size_t sz;
    struct rp_cache_obj *o = obj_new(st, key, head, tags, ntags, &sz);
    if (!o)
        return NULL;
    if (!rp_store_reserve(st, sz)) {
        pthread_mutex_destroy(&o->wmu);
        free(o);
        return NULL;
    }
    struct rp_store_shard *sh = rp_store_shard_of(st, o->hash);
    pthread_mutex_lock(&sh->mu);
    struct rp_cache_obj *old = find(sh, o->hash, key);
    bool to_main = false;
    if (old) {
        /* a replacement keeps the standing its key had earned */
        to_main = old->queue == RP_Q_MAIN;
        rp_store_detach(sh, old);
    } else {
        to_main = rp_store_ghost_take(sh, o->hash);
    }
    maybe_grow(sh);
    struct rp_cache_obj **b = &sh->buckets[o->hash & (sh->nbuckets - 1)];
    o->hnext = *b;
    *b = o;
    o->queue = to_main ? RP_Q_MAIN : RP_Q_SMALL;
    rp_store_fifo_push(to_main ? &sh->main : &sh->small, o);
    sh->count++;
    atomic_fetch_add_explicit(&sh->bytes, sz, memory_order_relaxed);
    atomic_fetch_add(&st->count, 1);
    pthread_mutex_unlock(&sh->mu);
    if (old)
        rp_cache_obj_unref(old);
    return o;
}

size_t rp_cache_remove(struct rp_cache_store *st, struct rp_slice key)
{
    uint64_t h = key_hash(key);
    struct rp_store_shard *sh = rp_store_shard_of(st, h);
    pthread_mutex_lock(&sh->mu);
    struct rp_cache_obj *o = find(sh, h, key);
    if (o)
        rp_store_detach(sh, o);
    pthread_mutex_unlock(&sh->mu);
    if (!o)
        return 0;
    rp_cache_obj_unref(o);
    return 1;
}

static bool has_tag(const struct rp_cache_obj *o, struct rp_slice tag)
{
    for (size_t i = 0; i < o->ntags; i++)
        if (rp_slice_eq(o->tags[i], tag))
            return true;
    return false;
}

/* Walk every shard, one lock at a time, detaching what matches; the table's references are
 * dropped after each shard is unlocked (hnext of a detached object is free to chain them). */
static size_t purge(struct rp_cache_store *st, struct rp_slice s, bool by_tag)
{
    size_t n = 0;
    for (int i = 0; i < RP_STORE_NSHARDS; i++) {
        struct rp_store_shard *sh = &st->shards[i];
        struct rp_cache_obj *gone = NULL;
        pthread_mutex_lock(&sh->mu);
        for (size_t b = 0; b < sh->nbuckets; b++) {
            struct rp_cache_obj *o = sh->buckets[b];
            while (o) {
                struct rp_cache_obj *next = o->hnext;
                if (by_tag ? has_tag(o, s) : rp_slice_starts_with(o->key, s)) {
                    rp_store_detach(sh, o);
                    o->hnext = gone;
                    gone = o;
                    n++;
                }
                o = next;
            }
        }
        pthread_mutex_unlock(&sh->mu);
        while (gone) {
            struct rp_cache_obj *o = gone;
            gone = o->hnext;
            rp_cache_obj_unref(o);
        }
    }
    return n;
}

size_t rp_cache_purge_prefix(struct rp_cache_store *st, struct rp_slice prefix)
{
    return purge(st, prefix, false);
}

size_t rp_cache_purge_tag(struct rp_cache_store *st, struct rp_slice tag)
{
    return purge(st, tag, true);
}

size_t rp_cache_store_bytes(const struct rp_cache_store *st)
{
    return atomic_load(&((struct rp_cache_store *)st)->bytes);
}

size_t rp_cache_store_count(const struct rp_cache_store *st)
{
    return atomic_load(&((struct rp_cache_store *)st)->count);
}
