/* Arena allocator: a singly linked chain of blocks, newest first. Large requests get a block of
 * their own so that ordinary blocks stay small. */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rp_arena_block {
    struct rp_arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    max_align_t data[];
};

#define ALIGN_UP(n) (((n) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

void rp_arena_init(struct rp_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 4096;
    a->used_total = 0;
}

/* Blocks of the default exchange size are cached per thread so that a request's arena costs
 * no malloc in the steady state. */
#define CACHED_BLOCK 4096
#define CACHE_MAX 256
static _Thread_local struct rp_arena_block *block_cache;
static _Thread_local unsigned block_cache_n;

static struct rp_arena_block *new_block(struct rp_arena *a, size_t size)
{
    struct rp_arena_block *b = NULL;
#ifndef RP_PLAIN_ALLOC
    if (size == CACHED_BLOCK && block_cache) {
        b = block_cache;
        block_cache = b->next;
        block_cache_n--;
    }
#endif
    if (!b)
        b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->size = size;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    return b;
}

void *rp_arena_alloc(struct rp_arena *a, size_t n)
{
    n = ALIGN_UP(n ? n : 1);
    struct rp_arena_block *b = a->head;
#ifdef RP_PLAIN_ALLOC
    b = new_block(a, n);
    if (!b)
        return NULL;
#else
    if (!b || b->size - b->used < n) {
        if (n > a->block_size / 4) {
            /* a big allocation: its own block, linked behind the current one so the current
             * block's free space stays usable */
            struct rp_arena_block *big = malloc(sizeof(*big) + n);
            if (!big)
                return NULL;
            big->size = n;
            big->used = n;
            if (a->head) {
                big->next = a->head->next;
                a->head->next = big;
            } else {
                big->next = NULL;
                a->head = big;
            }
            a->used_total += n;
            return big->data;
        }
        b = new_block(a, a->block_size);
        if (!b)
            return NULL;
    }
#endif
    void *p = (char *)b->data + b->used;
    b->used += n;
    a->used_total += n;
    return p;
}

void *rp_arena_calloc(struct rp_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = rp_arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void rp_arena_cache_drain(unsigned keep)
{
    while (block_cache && block_cache_n > keep) {
        struct rp_arena_block *b = block_cache;
        block_cache = b->next;
        free(b);
        block_cache_n--;
    }
}

char *rp_arena_strndup(struct rp_arena *a, const char *s, size_t n)
{
    char *p = rp_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *rp_arena_strdup(struct rp_arena *a, const char *s)
{
    return rp_arena_strndup(a, s, strlen(s));
}

struct rp_slice rp_arena_slice_dup(struct rp_arena *a, struct rp_slice s)
{
    char *p = rp_arena_strndup(a, s.p, s.n);
    return (struct rp_slice){p, p ? s.n : 0};
}

char *rp_arena_printf(struct rp_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = rp_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void rp_arena_reset(struct rp_arena *a)
{
    struct rp_arena_block *b = a->head;
    while (b) {
        struct rp_arena_block *next = b->next;
#ifndef RP_PLAIN_ALLOC
        if (b->size == CACHED_BLOCK && block_cache_n < CACHE_MAX) {
            b->next = block_cache;
            block_cache = b;
            block_cache_n++;
            b = next;
            continue;
        }
#endif
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}
