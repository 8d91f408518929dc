/* The event loop's timer wheel and deferred calls: timers fire once, in deadline order across
 * slots, re-arming and disarming work from callbacks, timers beyond one wheel revolution wait
 * for their own revolution. */
#include <unistd.h>

#include "event/loop.h"
#include "test.h"

static int fired[8];
static int order[8];
static int norder;

struct tt {
    struct rp_timer t;
    int id;
};

static void on_timer(struct rp_timer *t)
{
    struct tt *x = (struct tt *)t;
    fired[x->id]++;
    order[norder++] = x->id;
}

static void run_until(struct rp_loop *loop, uint64_t ms)
{
    uint64_t end = loop->now + ms;
    while (loop->now < end)
        rp_loop_run_once(loop, 5);
}

static void test_timers_fire_in_order(void)
{
    struct rp_loop loop;
    CHECK_INT(rp_loop_init(&loop), 0);
    struct tt a = {.id = 0}, b = {.id = 1}, c = {.id = 2};
    rp_timer_init(&a.t, on_timer);
    rp_timer_init(&b.t, on_timer);
    rp_timer_init(&c.t, on_timer);
    rp_timer_arm(&loop, &a.t, 60);
    rp_timer_arm(&loop, &b.t, 20);
    rp_timer_arm(&loop, &c.t, 40);
    rp_timer_disarm(&loop, &c.t);
    CHECK_INT(loop.ntimers, 2);
    run_until(&loop, 120);
    CHECK_INT(fired[0], 1);
    CHECK_INT(fired[1], 1);
    CHECK_INT(fired[2], 0);
    CHECK_INT(order[0], 1);
    CHECK_INT(order[1], 0);
    CHECK_INT(loop.ntimers, 0);
    rp_loop_close(&loop);
}

static void test_rearm_moves_deadline(void)
{
    struct rp_loop loop;
    CHECK_INT(rp_loop_init(&loop), 0);
    memset(fired, 0, sizeof(fired));
    struct tt a = {.id = 3};
    rp_timer_init(&a.t, on_timer);
    rp_timer_arm(&loop, &a.t, 30);
    rp_timer_arm(&loop, &a.t, 200);
    run_until(&loop, 80);
    CHECK_INT(fired[3], 0);
    CHECK(rp_timer_armed(&a.t));
    rp_timer_disarm(&loop, &a.t);
    rp_loop_close(&loop);
}

static void test_timer_beyond_one_revolution(void)
{
    struct rp_loop loop;
    CHECK_INT(rp_loop_init(&loop), 0);
    memset(fired, 0, sizeof(fired));
    struct tt a = {.id = 4};
    rp_timer_init(&a.t, on_timer);
    /* lands in the slot that comes up after 40 ms, but one revolution later */
    uint64_t rev = (uint64_t)RP_WHEEL_SLOTS * RP_WHEEL_TICK_MS;
    rp_timer_arm(&loop, &a.t, rev + 40);
    run_until(&loop, 100);
    CHECK_INT(fired[4], 0);
    CHECK(rp_timer_armed(&a.t));
    rp_timer_disarm(&loop, &a.t);
    rp_loop_close(&loop);
}

static int deferred;
static void on_defer(struct rp_defer *d)
{
    deferred++;
}

static void test_defer_runs_once(void)
{
    struct rp_loop loop;
    CHECK_INT(rp_loop_init(&loop), 0);
    struct rp_defer d = {0}, e = {0};
    rp_defer(&loop, &d, on_defer);
    rp_defer(&loop, &d, on_defer);
    rp_defer(&loop, &e, on_defer);
    rp_defer_cancel(&loop, &e);
    rp_loop_run_once(&loop, 0);
    CHECK_INT(deferred, 1);
    rp_loop_run_once(&loop, 0);
    CHECK_INT(deferred, 1);
    rp_loop_close(&loop);
}

static int woke;
static void on_wake(struct rp_loop *loop)
{
    woke++;
}

static void test_wake(void)
{
    struct rp_loop loop;
    CHECK_INT(rp_loop_init(&loop), 0);
    loop.on_wake = on_wake;
    rp_loop_wake(&loop);
    rp_loop_wake(&loop);
    rp_loop_run_once(&loop, 100);
    CHECK_INT(woke, 1);
    rp_loop_close(&loop);
}

int main(void)
{
    RUN(test_timers_fire_in_order);
    RUN(test_rearm_moves_deadline);
    RUN(test_timer_beyond_one_revolution);
    RUN(test_defer_runs_once);
    RUN(test_wake);
    TEST_MAIN_END();
}
