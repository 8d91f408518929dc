/* Arena: bump allocation from a chain of blocks, freed all at once. One per exchange and one
 * per config snapshot. With RP_PLAIN_ALLOC every allocation is its own malloc so that
 * AddressSanitizer sees each one. Not thread-safe: an arena belongs to one owner. */
#ifndef RP_CORE_ARENA_H
#define RP_CORE_ARENA_H

#include <stddef.h>

#include "core/slice.h"

struct rp_arena_block;

struct rp_arena {
    struct rp_arena_block *head; /* current block (newest) */
    size_t block_size;           /* size of ordinary blocks */
    size_t used_total;           /* bytes handed out, for accounting */
};

/* Prepare an empty arena; no memory is taken until the first allocation. */
void rp_arena_init(struct rp_arena *a, size_t block_size);

/* Allocate n bytes aligned for any type; NULL when out of memory. */
void *rp_arena_alloc(struct rp_arena *a, size_t n);

/* Same, zero-filled. */
void *rp_arena_calloc(struct rp_arena *a, size_t count, size_t size);

/* Copy of s (NUL-terminated); NULL when out of memory. */
char *rp_arena_strndup(struct rp_arena *a, const char *s, size_t n);
char *rp_arena_strdup(struct rp_arena *a, const char *s);
struct rp_slice rp_arena_slice_dup(struct rp_arena *a, struct rp_slice s);

/* printf into the arena; NULL when out of memory. */
char *rp_arena_printf(struct rp_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keep at most keep blocks in this thread's cache of spare blocks (0 at thread exit). */
void rp_arena_cache_drain(unsigned keep);

/* Free every block; the arena is empty and usable again. */
void rp_arena_reset(struct rp_arena *a);

#endif
