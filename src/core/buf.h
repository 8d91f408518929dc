/* I/O buffers: a contiguous byte area with a read offset (head) and a write offset (tail).
 * Standard-size buffers come from a per-thread free list so the hot path does not call malloc;
 * a buffer may grow past the standard size (a large request head) and is then freed on release.
 * Connections take buffers lazily and give them back when empty, so idle connections hold none. */
#ifndef RP_CORE_BUF_H
#define RP_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define RP_BUF_SIZE 16384

struct rp_buf {
    char *data;
    size_t cap;
    size_t head; /* first unread byte */
    size_t tail; /* one past the last written byte */
};

/* Take a standard buffer from this thread's pool (or malloc). Returns false when out of memory. */
bool rp_buf_acquire(struct rp_buf *b);

/* Give the memory back (to the pool if standard-size); b becomes empty with data == NULL. */
void rp_buf_release(struct rp_buf *b);

/* Make sure at least want bytes of free space follow tail, moving unread bytes to the front and
 * growing up to max_cap when needed. Returns false when that is impossible. */
bool rp_buf_reserve(struct rp_buf *b, size_t want, size_t max_cap);

/* Keep at most keep pooled buffers of this thread (a quiet worker gives memory back). */
void rp_buf_pool_shrink(unsigned keep);

/* Free pooled buffers of this thread (at worker exit). */
void rp_buf_pool_drain(void);

static inline size_t rp_buf_len(const struct rp_buf *b)
{
    return b->tail - b->head;
}

static inline size_t rp_buf_room(const struct rp_buf *b)
{
    return b->cap - b->tail;
}

static inline char *rp_buf_rptr(const struct rp_buf *b)
{
    return b->data + b->head;
}

static inline char *rp_buf_wptr(const struct rp_buf *b)
{
    return b->data + b->tail;
}

/* Mark n bytes consumed; an emptied buffer rewinds to offset 0. */
static inline void rp_buf_consume(struct rp_buf *b, size_t n)
{
    b->head += n;
    if (b->head == b->tail)
        b->head = b->tail = 0;
}

/* Append bytes; the caller has reserved the room. */
static inline void rp_buf_put(struct rp_buf *b, const void *p, size_t n)
{
    memcpy(b->data + b->tail, p, n);
    b->tail += n;
}

#endif
