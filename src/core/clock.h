/* Monotonic and wall clocks in milliseconds. Workers cache "now" once per loop iteration. */
#ifndef RP_CORE_CLOCK_H
#define RP_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t rp_clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t rp_clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline int64_t rp_clock_wall_s(void)
{
    return (int64_t)time(NULL);
}

#endif
