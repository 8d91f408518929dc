/* Slices: a pointer with its length. Parsers hand out slices into the buffer they read;
 * nothing here allocates. */
#ifndef RP_CORE_SLICE_H
#define RP_CORE_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

struct rp_slice {
    const char *p;
    size_t n;
};

#define RP_SLICE_LIT(s) ((struct rp_slice){(s), sizeof(s) - 1})
#define RP_SLICE_NULL ((struct rp_slice){NULL, 0})
/* For printf: printf("%.*s", RP_SLICE_FMT(s)) */
#define RP_SLICE_FMT(s) (int)(s).n, (s).p

static inline struct rp_slice rp_slice_cstr(const char *s)
{
    return (struct rp_slice){s, s ? strlen(s) : 0};
}

static inline bool rp_slice_eq(struct rp_slice a, struct rp_slice b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* ASCII case-insensitive equality (header names, tokens). */
static inline bool rp_slice_case_eq(struct rp_slice a, struct rp_slice b)
{
    return a.n == b.n && (a.n == 0 || strncasecmp(a.p, b.p, a.n) == 0);
}

static inline bool rp_slice_case_eq_cstr(struct rp_slice a, const char *s)
{
    return rp_slice_case_eq(a, rp_slice_cstr(s));
}

static inline bool rp_slice_starts_with(struct rp_slice a, struct rp_slice prefix)
{
    return a.n >= prefix.n && (prefix.n == 0 || memcmp(a.p, prefix.p, prefix.n) == 0);
}

/* Strip optional whitespace (SP / HTAB) from both ends. */
static inline struct rp_slice rp_slice_trim_ows(struct rp_slice s)
{
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

#endif
