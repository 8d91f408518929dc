/* Durations, sizes and integers as written in a config file. Every parse checks for overflow:
 * a value that does not fit is an error, never a wrapped number. */
#include "config/units.h"

#include <ctype.h>
#include <stdio.h>

/* Leading digits of s into *v; returns how many digits were read (0 on overflow or none). */
static size_t read_digits(struct rp_slice s, uint64_t *v)
{
    uint64_t x = 0;
    size_t i = 0;
    for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++) {
        unsigned d = (unsigned)(s.p[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *v = x;
    return i;
}

int rp_cfg_parse_uint(struct rp_slice s, uint64_t *v)
{
    if (s.n == 0 || s.n > 20)
        return -1;
    size_t i = read_digits(s, v);
    return i && i == s.n ? 0 : -1;
}

static int mul_checked(uint64_t v, uint64_t m, uint64_t *out)
{
    if (m && v > UINT64_MAX / m)
        return -1;
    *out = v * m;
    return 0;
}

int rp_cfg_parse_duration(struct rp_slice s, uint64_t *ms)
{
    uint64_t v;
    size_t i = read_digits(s, &v);
    if (i == 0)
        return -1;
    struct rp_slice unit = {s.p + i, s.n - i};
    if (unit.n == 0) /* a unit is required, except for zero which needs none */
        return v == 0 ? (*ms = 0, 0) : -1;
    uint64_t m;
    if (rp_slice_eq(unit, RP_SLICE_LIT("ms")))
        m = 1;
    else if (rp_slice_eq(unit, RP_SLICE_LIT("s")))
        m = 1000;
    else if (rp_slice_eq(unit, RP_SLICE_LIT("m")))
        m = 60 * 1000;
    else if (rp_slice_eq(unit, RP_SLICE_LIT("h")))
        m = 3600 * 1000;
    else
        return -1;
    return mul_checked(v, m, ms);
}

int rp_cfg_parse_size(struct rp_slice s, uint64_t *bytes)
{
    uint64_t v;
    size_t i = read_digits(s, &v);
    if (i == 0)
        return -1;
    if (i == s.n) {
        *bytes = v;
        return 0;
    }
    if (i + 1 != s.n)
        return -1;
    uint64_t m;
    switch (tolower((unsigned char)s.p[i])) {
    case 'k':
        m = 1024;
        break;
    case 'm':
        m = 1024 * 1024;
        break;
    case 'g':
        m = 1024 * 1024 * 1024;
        break;
    default:
        return -1;
    }
    return mul_checked(v, m, bytes);
}

void rp_cfg_format_duration(uint64_t ms, char *buf, size_t n)
{
    if (ms && ms % 3600000 == 0)
        snprintf(buf, n, "%lluh", (unsigned long long)(ms / 3600000));
    else if (ms && ms % 60000 == 0)
        snprintf(buf, n, "%llum", (unsigned long long)(ms / 60000));
    else if (ms && ms % 1000 == 0)
        snprintf(buf, n, "%llus", (unsigned long long)(ms / 1000));
    else
        snprintf(buf, n, "%llums", (unsigned long long)ms);
}

void rp_cfg_format_size(uint64_t bytes, char *buf, size_t n)
{
    static const char units[] = "kmg";
    int u = -1;
    while (u < 2 && bytes && bytes % 1024 == 0) {
        bytes /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, n, "%llu", (unsigned long long)bytes);
    else
        snprintf(buf, n, "%llu%c", (unsigned long long)bytes, units[u]);
}
