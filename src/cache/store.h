/* The cache's memory store: objects by key, shared by all workers, bounded by a byte budget,
 * with S3-FIFO eviction (a small probationary FIFO, a main FIFO with reinsertion of objects
 * hit while there, and a ghost queue of recently evicted keys), which resists scans that
 * would flush a plain LRU. Objects are immutable once complete and reference counted, so a
 * reader keeps streaming one that was just evicted or replaced. A stored object may still be
 * filling (the first miss streams the backend's response into it while other requests for the
 * same key read what has arrived: request collapsing). */
#ifndef RP_CACHE_STORE_H
#define RP_CACHE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"

struct rp_cache_store;
struct rp_cache_obj;

/* A new store with this byte budget (keys, heads and bodies counted). NULL on OOM. */
struct rp_cache_store *rp_cache_store_new(size_t budget);
void rp_cache_store_free(struct rp_cache_store *st);

/* The object stored under key (exact bytes), with a reference the caller releases; NULL when
 * absent. A hit marks the object (S3-FIFO frequency). Thread: any. */
struct rp_cache_obj *rp_cache_lookup(struct rp_cache_store *st, struct rp_slice key);

/* Start storing a new object under key (replacing a previous one, which stays readable by
 * those holding it): head is the serialised response head (copied); tags are purge tags
 * (copied). Returns the object with a reference held by the writer, which appends the body
 * with rp_cache_obj_append and ends with rp_cache_obj_finish (complete) or rp_cache_obj_abort
 * (dropped from the store; readers see it failed). NULL when it cannot fit the budget at all
 * or on OOM. */
struct rp_cache_obj *rp_cache_insert(struct rp_cache_store *st, struct rp_slice key,
                                     struct rp_slice head, const struct rp_slice *tags,
                                     size_t ntags);
/* Append body bytes; false when the object outgrew what the store allows (then it is
 * aborted). */
bool rp_cache_obj_append(struct rp_cache_obj *o, const void *p, size_t n);
void rp_cache_obj_finish(struct rp_cache_obj *o);
void rp_cache_obj_abort(struct rp_cache_obj *o);

/* Readers: the head; body bytes from offset off (a pointer into the object valid while the
 * reference is held; *n bytes, possibly fewer than the rest); state. */
struct rp_slice rp_cache_obj_head(const struct rp_cache_obj *o);
const void *rp_cache_obj_body(const struct rp_cache_obj *o, uint64_t off, size_t *n);
uint64_t rp_cache_obj_body_len(const struct rp_cache_obj *o); /* so far */
enum rp_cache_obj_state { RP_OBJ_FILLING, RP_OBJ_COMPLETE, RP_OBJ_FAILED };
enum rp_cache_obj_state rp_cache_obj_state(const struct rp_cache_obj *o);

/* Readers waiting on a filling object are told when bytes arrive or it ends: fn(arg) is
 * called from whichever thread appended (keep it short: e.g. wake a worker's loop). One
 * waiter registration per call; returns false if the object is no longer filling (read
 * again instead). */
bool rp_cache_obj_wait(struct rp_cache_obj *o, void (*fn)(void *arg), void *arg);

void rp_cache_obj_ref(struct rp_cache_obj *o);
void rp_cache_obj_unref(struct rp_cache_obj *o);

/* Invalidation: one key; every key starting with prefix; every object tagged tag. Each
 * returns how many objects were removed. */
size_t rp_cache_remove(struct rp_cache_store *st, struct rp_slice key);
size_t rp_cache_purge_prefix(struct rp_cache_store *st, struct rp_slice prefix);
size_t rp_cache_purge_tag(struct rp_cache_store *st, struct rp_slice tag);

/* Bytes in use and objects stored (for tests and counters). */
size_t rp_cache_store_bytes(const struct rp_cache_store *st);
size_t rp_cache_store_count(const struct rp_cache_store *st);

#endif
