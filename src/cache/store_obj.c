/* Cache objects (see store.h): the body as a list of chunks that never move once handed out,
 * published to readers with atomics (no lock on the read path), references, and the waiters
 * of a filling object.
 *
 * Ownership: rp_cache_insert's reference belongs to the writer, and rp_cache_obj_finish /
 * rp_cache_obj_abort do not drop it; the writer calls rp_cache_obj_unref after either (also
 * after an append that failed). Waiters: a registration fires once, on the next append,
 * finish or abort, from the writer's thread with no lock held. Bytes appended just before
 * a registration do not fire it, so after rp_cache_obj_wait returns true the reader checks
 * rp_cache_obj_body_len once more (the writer publishes the length before looking for
 * waiters and the reader registers before that re-check, both sequentially consistent, so
 * one of the two always sees the other). The store must outlive its objects' writers. */
#include "cache/store_int.h"

#include <stdlib.h>
#include <string.h>

void rp_store_obj_free(struct rp_cache_obj *o)
{
    struct rp_store_dir *d = atomic_load_explicit(&o->dir, memory_order_relaxed);
    size_t n = atomic_load_explicit(&o->nchunks, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        free(d->e[i].p);
    while (d) {
        struct rp_store_dir *older = d->older;
        free(d);
        d = older;
    }
    free(o->waiters);
    pthread_mutex_destroy(&o->wmu);
    free(o);
}

void rp_cache_obj_ref(struct rp_cache_obj *o)
{
    atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

void rp_cache_obj_unref(struct rp_cache_obj *o)
{
    if (o && atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
        rp_store_obj_free(o);
}

/* Take the waiter list (and change the state when new_state >= 0, only from FILLING), then
 * call the waiters with no lock held. */
void rp_store_obj_fire(struct rp_cache_obj *o, int new_state)
{
    pthread_mutex_lock(&o->wmu);
    if (new_state >= 0) {
        if (atomic_load(&o->state) != RP_OBJ_FILLING) {
            pthread_mutex_unlock(&o->wmu);
            return;
        }
        atomic_store(&o->state, new_state);
    }
    struct rp_store_waiter *w = o->waiters;
    size_t n = atomic_load(&o->nwaiters);
    o->waiters = NULL;
    o->waiters_cap = 0;
    atomic_store(&o->nwaiters, 0);
    pthread_mutex_unlock(&o->wmu);
    for (size_t i = 0; i < n; i++)
        w[i].fn(w[i].arg);
    free(w);
}

bool rp_cache_obj_wait(struct rp_cache_obj *o, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&o->wmu);
    bool ok = atomic_load(&o->state) == RP_OBJ_FILLING;
    size_t n = atomic_load(&o->nwaiters);
    if (ok && n == o->waiters_cap) {
        size_t cap = n ? 2 * n : 4;
        struct rp_store_waiter *w = realloc(o->waiters, cap * sizeof(*w));
        if (w) {
            o->waiters = w;
            o->waiters_cap = cap;
        } else {
            ok = false; /* the reader polls instead */
        }
    }
    if (ok) {
        o->waiters[n] = (struct rp_store_waiter){fn, arg};
        atomic_store(&o->nwaiters, n + 1);
    }
    pthread_mutex_unlock(&o->wmu);
    return ok;
}

/* Room for one more directory entry: a copy twice as large, published before use; the old
 * one stays until the object is freed because a reader may be searching it. */
static bool dir_room(struct rp_cache_obj *o)
{
    struct rp_store_dir *d = atomic_load_explicit(&o->dir, memory_order_relaxed);
    size_t n = atomic_load_explicit(&o->nchunks, memory_order_relaxed);
    if (d && n < d->cap)
        return true;
    size_t cap = d ? 2 * d->cap : 4;
    size_t sz = sizeof(*d) + cap * sizeof(d->e[0]);
    struct rp_store_dir *nd = malloc(sz);
    if (!nd)
        return false;
    if (!rp_store_charge(o, sz)) {
        free(nd);
        return false;
    }
    nd->older = d;
    nd->cap = cap;
    if (n)
        memcpy(nd->e, d->e, n * sizeof(d->e[0]));
    atomic_store_explicit(&o->dir, nd, memory_order_release);
    return true;
}

/* A new chunk about as large as the body so far (so their number grows logarithmically up to
 * the maximum size), at least what this append needs up to that maximum, and no more than
 * the object's remaining allowance. */
static bool new_chunk(struct rp_cache_obj *o, size_t want)
{
    uint64_t len = atomic_load_explicit(&o->body_len, memory_order_relaxed);
    size_t cap = len < RP_STORE_CHUNK_MAX ? (size_t)len : RP_STORE_CHUNK_MAX;
    if (cap < want)
        cap = want;
    if (cap < RP_STORE_CHUNK_MIN)
        cap = RP_STORE_CHUNK_MIN;
    if (cap > RP_STORE_CHUNK_MAX)
        cap = RP_STORE_CHUNK_MAX;
    if (!dir_room(o))
        return false;
    size_t left = o->st->max_obj > o->size ? o->st->max_obj - o->size : 0;
    if (cap > left)
        cap = left;
    if (!cap)
        return false;
    char *p = malloc(cap);
    if (!p)
        return false;
    if (!rp_store_charge(o, cap)) {
        free(p);
        return false;
    }
    struct rp_store_dir *d = atomic_load_explicit(&o->dir, memory_order_relaxed);
    size_t n = atomic_load_explicit(&o->nchunks, memory_order_relaxed);
    d->e[n] = (struct rp_store_chunk){p, len};
    atomic_store_explicit(&o->nchunks, n + 1, memory_order_release);
    o->cur = p;
    o->cur_cap = cap;
    o->cur_used = 0;
    return true;
}

bool rp_cache_obj_append(struct rp_cache_obj *o, const void *p, size_t n)
{
    if (atomic_load(&o->state) != RP_OBJ_FILLING)
        return false;
    const char *src = p;
    uint64_t len = atomic_load_explicit(&o->body_len, memory_order_relaxed);
    while (n) {
        if (o->cur_used == o->cur_cap && !new_chunk(o, n)) {
            rp_cache_obj_abort(o);
            return false;
        }
        size_t k = o->cur_cap - o->cur_used;
        if (k > n)
            k = n;
        memcpy(o->cur + o->cur_used, src, k);
        o->cur_used += k;
        src += k;
        n -= k;
        len += k;
        atomic_store(&o->body_len, len); /* publishes the bytes (seq_cst: see the top) */
    }
    if (atomic_load(&o->nwaiters))
        rp_store_obj_fire(o, -1);
    return true;
}

void rp_cache_obj_finish(struct rp_cache_obj *o)
{
    rp_store_obj_fire(o, RP_OBJ_COMPLETE);
}

void rp_cache_obj_abort(struct rp_cache_obj *o)
{
    if (atomic_load(&o->state) != RP_OBJ_FILLING)
        return;
    struct rp_store_shard *sh = rp_store_shard_of(o->st, o->hash);
    pthread_mutex_lock(&sh->mu);
    bool attached = o->queue != RP_Q_NONE;
    if (attached)
        rp_store_detach(sh, o);
    pthread_mutex_unlock(&sh->mu);
    if (attached)
        rp_cache_obj_unref(o); /* the table's reference; the writer still holds its own */
    rp_store_obj_fire(o, RP_OBJ_FAILED);
}

struct rp_slice rp_cache_obj_head(const struct rp_cache_obj *o)
{
    return o->head;
}

const void *rp_cache_obj_body(const struct rp_cache_obj *o, uint64_t off, size_t *n)
{
    struct rp_cache_obj *m = (struct rp_cache_obj *)o; /* atomics need non-const access */
    uint64_t len = atomic_load(&m->body_len);
    *n = 0;
    if (off >= len)
        return NULL;
    size_t k = atomic_load_explicit(&m->nchunks, memory_order_acquire);
    const struct rp_store_dir *d = atomic_load_explicit(&m->dir, memory_order_acquire);
    /* the last chunk starting at or before off */
    size_t lo = 0, hi = k;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->e[mid].start <= off)
            lo = mid;
        else
            hi = mid;
    }
    uint64_t end = lo + 1 < k && d->e[lo + 1].start < len ? d->e[lo + 1].start : len;
    *n = (size_t)(end - off);
    return d->e[lo].p + (off - d->e[lo].start);
}

uint64_t rp_cache_obj_body_len(const struct rp_cache_obj *o)
{
    return atomic_load(&((struct rp_cache_obj *)o)->body_len);
}

enum rp_cache_obj_state rp_cache_obj_state(const struct rp_cache_obj *o)
{
    return (enum rp_cache_obj_state)atomic_load(&((struct rp_cache_obj *)o)->state);
}
