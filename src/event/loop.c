/* Event loop: epoll in edge-triggered mode, a hashed timer wheel (O(1) arm and disarm; a timer
 * further away than one revolution is passed over until its revolution comes), deferred calls. */
#include "event/loop.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"

static void wake_cb(struct rp_io *io, uint32_t events);

int rp_loop_init(struct rp_loop *loop)
{
    memset(loop, 0, sizeof(*loop));
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        return -errno;
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wakefd < 0) {
        int e = -errno;
        close(loop->epfd);
        return e;
    }
    for (unsigned i = 0; i < RP_WHEEL_SLOTS; i++)
        loop->slots[i].next = loop->slots[i].prev = &loop->slots[i];
    loop->now = rp_clock_mono_ms();
    loop->tick = loop->now / RP_WHEEL_TICK_MS;
    loop->wake_io.fd = loop->wakefd;
    loop->wake_io.cb = wake_cb;
    return rp_loop_add(loop, &loop->wake_io, EPOLLIN);
}

void rp_loop_close(struct rp_loop *loop)
{
    close(loop->wakefd);
    close(loop->epfd);
}

int rp_loop_add(struct rp_loop *loop, struct rp_io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events | EPOLLET, .data.ptr = io};
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0 ? -errno : 0;
}

int rp_loop_mod(struct rp_loop *loop, struct rp_io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events | EPOLLET, .data.ptr = io};
    return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0 ? -errno : 0;
}

void rp_loop_del(struct rp_loop *loop, struct rp_io *io)
{
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

void rp_loop_wake(struct rp_loop *loop)
{
    uint64_t one = 1;
    if (write(loop->wakefd, &one, sizeof(one)) < 0) {
        /* the counter is already non-zero: the loop will wake anyway */
    }
}

static void wake_cb(struct rp_io *io, uint32_t events)
{
    struct rp_loop *loop = (struct rp_loop *)((char *)io - offsetof(struct rp_loop, wake_io));
    uint64_t v;
    while (read(io->fd, &v, sizeof(v)) > 0) {
    }
    if (loop->on_wake)
        loop->on_wake(loop);
}

void rp_timer_init(struct rp_timer *t, rp_timer_cb cb)
{
    t->next = t->prev = NULL;
    t->deadline = 0;
    t->cb = cb;
}

void rp_timer_disarm(struct rp_loop *loop, struct rp_timer *t)
{
    if (!t->next)
        return;
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = NULL;
    loop->ntimers--;
}

void rp_timer_arm(struct rp_loop *loop, struct rp_timer *t, uint64_t delay_ms)
{
    rp_timer_disarm(loop, t);
    t->deadline = loop->now + delay_ms;
    uint64_t tick = (t->deadline + RP_WHEEL_TICK_MS - 1) / RP_WHEEL_TICK_MS;
    if (tick <= loop->tick)
        tick = loop->tick + 1;
    struct rp_timer *head = &loop->slots[tick % RP_WHEEL_SLOTS];
    t->next = head;
    t->prev = head->prev;
    head->prev->next = t;
    head->prev = t;
    loop->ntimers++;
}

static void run_timers(struct rp_loop *loop)
{
    uint64_t target = loop->now / RP_WHEEL_TICK_MS;
    /* after a long stall, one revolution visits every slot */
    if (target - loop->tick > RP_WHEEL_SLOTS)
        loop->tick = target - RP_WHEEL_SLOTS;
    while (loop->tick < target) {
        loop->tick++;
        struct rp_timer *head = &loop->slots[loop->tick % RP_WHEEL_SLOTS];
        /* detach due timers into a local list first: callbacks may re-arm into this slot */
        struct rp_timer due = {.next = &due, .prev = &due};
        for (struct rp_timer *t = head->next, *n; t != head; t = n) {
            n = t->next;
            if (t->deadline > loop->now)
                continue;
            t->prev->next = t->next;
            t->next->prev = t->prev;
            t->next = &due;
            t->prev = due.prev;
            due.prev->next = t;
            due.prev = t;
        }
        while (due.next != &due) {
            struct rp_timer *t = due.next;
            due.next = t->next;
            t->next->prev = &due;
            t->next = t->prev = NULL;
            loop->ntimers--;
            t->cb(t);
        }
    }
}

void rp_defer(struct rp_loop *loop, struct rp_defer *d, rp_defer_cb cb)
{
    if (d->queued)
        return;
    d->cb = cb;
    d->queued = true;
    d->next = NULL;
    if (loop->defer_tail)
        loop->defer_tail->next = d;
    else
        loop->defer_head = d;
    loop->defer_tail = d;
}

void rp_defer_cancel(struct rp_loop *loop, struct rp_defer *d)
{
    if (!d->queued)
        return;
    /* in the pass being run, or queued for the next one */
    for (struct rp_defer **pp = &loop->run_head; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            d->queued = false;
            return;
        }
    struct rp_defer **pp = &loop->defer_head, *prev = NULL;
    while (*pp && *pp != d) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = d->next;
        if (loop->defer_tail == d)
            loop->defer_tail = prev;
    }
    d->queued = false;
}

/* Runs the calls queued before this pass; calls queued meanwhile wait for the next iteration
 * (after a non-blocking epoll_wait), so a connection that keeps re-queueing itself cannot starve
 * the others, the timers or shutdown. */
static void run_deferred(struct rp_loop *loop)
{
    loop->run_head = loop->defer_head;
    loop->defer_head = loop->defer_tail = NULL;
    while (loop->run_head) {
        struct rp_defer *d = loop->run_head;
        loop->run_head = d->next;
        d->queued = false;
        d->cb(d);
    }
}

int rp_loop_run_once(struct rp_loop *loop, int max_wait_ms)
{
    struct epoll_event evs[256];
    int wait = max_wait_ms;
    if (loop->defer_head)
        wait = 0;
    else if (loop->ntimers && (wait < 0 || wait > RP_WHEEL_TICK_MS))
        wait = RP_WHEEL_TICK_MS;
    int n = epoll_wait(loop->epfd, evs, 256, wait);
    if (n < 0 && errno != EINTR)
        return -errno;
    loop->now = rp_clock_mono_ms();
    for (int i = 0; i < n; i++) {
        struct rp_io *io = evs[i].data.ptr;
        io->cb(io, evs[i].events);
    }
    run_deferred(loop);
    run_timers(loop);
    run_deferred(loop);
    return n < 0 ? 0 : n;
}
