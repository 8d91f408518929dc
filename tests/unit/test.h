/* Minimal unit-test harness: CHECK macros count failures, main returns non-zero on any.
 * Each test file defines its test functions and calls them from main via RUN(). */
#ifndef RP_TEST_H
#define RP_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int t_failures;
static int t_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        t_checks++;                                                                                \
        if (!(cond)) {                                                                             \
            t_failures++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        t_checks++;                                                                                \
        if (a_ != b_) {                                                                            \
            t_failures++;                                                                          \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, a_, b_); \
        }                                                                                          \
    } while (0)

/* Compare a (pointer, length) pair with a C string. */
#define CHECK_MEM(p, n, s)                                                                         \
    do {                                                                                           \
        size_t n_ = (n);                                                                           \
        t_checks++;                                                                                \
        if (n_ != strlen(s) || memcmp((p), (s), n_) != 0) {                                        \
            t_failures++;                                                                          \
            fprintf(stderr, "%s:%d: %s is \"%.*s\", expected \"%s\"\n", __FILE__, __LINE__, #p,    \
                    (int)n_, (const char *)(p), (s));                                              \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int before_ = t_failures;                                                                  \
        fn();                                                                                      \
        printf("%s %s\n", t_failures == before_ ? "ok  " : "FAIL", #fn);                           \
    } while (0)

#define TEST_MAIN_END()                                                                            \
    do {                                                                                           \
        printf("%d checks, %d failed\n", t_checks, t_failures);                                    \
        return t_failures ? 1 : 0;                                                                 \
    } while (0)

#endif
