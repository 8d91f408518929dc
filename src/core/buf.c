/* Per-thread pool of standard-size I/O buffers. */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

struct free_buf {
    struct free_buf *next;
};

/* buffers kept per thread: enough for the churn of many busy connections; a worker that falls
 * quiet shrinks its pool (rp_buf_pool_shrink) so idle connections leave no memory behind */
#define POOL_MAX 1024

static _Thread_local struct free_buf *pool;
static _Thread_local unsigned pool_n;

bool rp_buf_acquire(struct rp_buf *b)
{
    b->head = b->tail = 0;
#ifndef RP_PLAIN_ALLOC
    if (pool) {
        struct free_buf *f = pool;
        pool = f->next;
        pool_n--;
        b->data = (char *)f;
        b->cap = RP_BUF_SIZE;
        return true;
    }
#endif
    b->data = malloc(RP_BUF_SIZE);
    b->cap = b->data ? RP_BUF_SIZE : 0;
    return b->data != NULL;
}

void rp_buf_release(struct rp_buf *b)
{
    if (!b->data)
        return;
#ifndef RP_PLAIN_ALLOC
    if (b->cap == RP_BUF_SIZE && pool_n < POOL_MAX) {
        struct free_buf *f = (struct free_buf *)b->data;
        f->next = pool;
        pool = f;
        pool_n++;
    } else
#endif
        free(b->data);
    b->data = NULL;
    b->cap = b->head = b->tail = 0;
}

bool rp_buf_reserve(struct rp_buf *b, size_t want, size_t max_cap)
{
    if (!b->data && !rp_buf_acquire(b))
        return false;
    if (rp_buf_room(b) >= want)
        return true;
    size_t len = rp_buf_len(b);
    if (b->head) {
        memmove(b->data, b->data + b->head, len);
        b->head = 0;
        b->tail = len;
        if (rp_buf_room(b) >= want)
            return true;
    }
    size_t need = len + want;
    if (need > max_cap)
        return false;
    size_t ncap = b->cap * 2;
    while (ncap < need)
        ncap *= 2;
    if (ncap > max_cap)
        ncap = max_cap;
    char *p = malloc(ncap);
    if (!p)
        return false;
    memcpy(p, b->data, len);
    struct rp_buf old = *b;
    rp_buf_release(&old);
    b->data = p;
    b->cap = ncap;
    return true;
}

void rp_buf_pool_shrink(unsigned keep)
{
    while (pool && pool_n > keep) {
        struct free_buf *f = pool;
        pool = f->next;
        pool_n--;
        free(f);
    }
}

void rp_buf_pool_drain(void)
{
    while (pool) {
        struct free_buf *f = pool;
        pool = f->next;
        free(f);
    }
    pool_n = 0;
}
