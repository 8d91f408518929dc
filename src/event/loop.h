/* The per-worker event loop: edge-triggered epoll, a hashed timer wheel and a list of deferred
 * calls run at the end of each iteration. One loop per thread; nothing here is thread-safe
 * except rp_loop_wake. */
#ifndef RP_EVENT_LOOP_H
#define RP_EVENT_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct rp_loop;
struct rp_io;

/* Called with the epoll event bits (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP). */
typedef void (*rp_io_cb)(struct rp_io *io, uint32_t events);

/* A registered descriptor; embedded in the object that owns the fd. */
struct rp_io {
    int fd;
    rp_io_cb cb;
};

struct rp_timer;
typedef void (*rp_timer_cb)(struct rp_timer *t);

/* A one-shot timer; embedded in its owner. Re-arming and disarming are O(1). */
/* The object that embeds member p (timers, deferred calls and io are embedded in owners). */
#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

struct rp_timer {
    struct rp_timer *next, *prev; /* slot list while armed */
    uint64_t deadline;            /* loop time in ms */
    rp_timer_cb cb;
};

/* A call deferred to the end of the current loop iteration; embedded in its owner. */
struct rp_defer;
typedef void (*rp_defer_cb)(struct rp_defer *d);
struct rp_defer {
    struct rp_defer *next;
    rp_defer_cb cb;
    bool queued;
};

#define RP_WHEEL_SLOTS 1024
#define RP_WHEEL_TICK_MS 16

struct rp_loop {
    int epfd;
    int wakefd; /* eventfd that other threads write to wake this loop */
    struct rp_io wake_io;
    uint64_t now;  /* cached monotonic ms, refreshed every iteration */
    uint64_t tick; /* last processed wheel tick */
    uint32_t ntimers;
    struct rp_timer slots[RP_WHEEL_SLOTS];    /* list heads */
    struct rp_defer *defer_head, *defer_tail; /* queued for the next pass */
    struct rp_defer *run_head;                /* the rest of the pass being run */
    void (*on_wake)(struct rp_loop *loop);    /* called in-loop after rp_loop_wake */
    void *data;                               /* owner (the worker) */
};

int rp_loop_init(struct rp_loop *loop);
void rp_loop_close(struct rp_loop *loop);

/* Register fd for the given events (EPOLLET is added). Returns 0 or -errno. */
int rp_loop_add(struct rp_loop *loop, struct rp_io *io, uint32_t events);
int rp_loop_mod(struct rp_loop *loop, struct rp_io *io, uint32_t events);
/* Unregister (closing the fd also does; this is for descriptors handed elsewhere). */
void rp_loop_del(struct rp_loop *loop, struct rp_io *io);

/* Wait up to max_wait_ms (or until the next timer), dispatch I/O, expired timers and deferred
 * calls. Returns the number of I/O events handled, or -errno. */
int rp_loop_run_once(struct rp_loop *loop, int max_wait_ms);

/* Wake the loop from another thread; its on_wake runs in the loop thread. */
void rp_loop_wake(struct rp_loop *loop);

void rp_timer_init(struct rp_timer *t, rp_timer_cb cb);
/* (Re)arm to fire delay_ms from the loop's now (rounded up to the wheel tick). */
void rp_timer_arm(struct rp_loop *loop, struct rp_timer *t, uint64_t delay_ms);
void rp_timer_disarm(struct rp_loop *loop, struct rp_timer *t);
static inline bool rp_timer_armed(const struct rp_timer *t)
{
    return t->next != 0;
}

/* Queue d to run once at the end of this iteration (no-op when already queued). A call queued
 * while deferred calls run waits for the next iteration. */
void rp_defer(struct rp_loop *loop, struct rp_defer *d, rp_defer_cb cb);
/* Remove d from the queue if it is queued (its owner is going away). */
void rp_defer_cancel(struct rp_loop *loop, struct rp_defer *d);

#endif
