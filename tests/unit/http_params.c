/* Unit tests for cookie and query parameter lookup (hash keys, sticky sessions). */
#include <string.h>

#include "http/params.h"
#include "test.h"

static struct rp_msg with_cookies(struct rp_header *h, const char *const *values, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        h[i].name = rp_slice_cstr(i % 2 ? "cookie" : "Cookie");
        h[i].value = rp_slice_cstr(values[i]);
    }
    return (struct rp_msg){.hdrs = h, .nhdrs = n, .cap_hdrs = n};
}

static bool cookie_is(const struct rp_msg *m, const char *name, const char *want)
{
    struct rp_slice v;
    if (!rp_cookie_find(m, name, &v))
        return want == NULL;
    return want && v.n == strlen(want) && !memcmp(v.p, want, v.n);
}

static void test_cookies(void)
{
    struct rp_header h[4];
    const char *vals[] = {"a=1; sid=abc ;b=2", "srv=0123456789abcdef", "x;y=;sid2=zz"};
    struct rp_msg m = with_cookies(h, vals, 3);
    CHECK(cookie_is(&m, "sid", "abc")); /* trailing whitespace trimmed */
    CHECK(cookie_is(&m, "a", "1"));
    CHECK(cookie_is(&m, "b", "2"));
    CHECK(cookie_is(&m, "srv", "0123456789abcdef")); /* a second Cookie field */
    CHECK(cookie_is(&m, "y", ""));
    CHECK(cookie_is(&m, "sid2", "zz"));
    CHECK(cookie_is(&m, "si", NULL));  /* a prefix of a name is not the name */
    CHECK(cookie_is(&m, "x", NULL));   /* no '=' */
    CHECK(cookie_is(&m, "SID", NULL)); /* names are case-sensitive */
    struct rp_msg none = {0};
    CHECK(cookie_is(&none, "sid", NULL));
}

static bool param_is(const char *q, const char *name, const char *want)
{
    struct rp_slice v;
    if (!rp_query_param(rp_slice_cstr(q), name, &v))
        return want == NULL;
    return want && v.n == strlen(want) && !memcmp(v.p, want, v.n);
}

static void test_query(void)
{
    CHECK(param_is("uid=42&x=1", "uid", "42"));
    CHECK(param_is("x=1&uid=42", "uid", "42"));
    CHECK(param_is("x=1&uid", "uid", ""));
    CHECK(param_is("x=1&uid=", "uid", ""));
    CHECK(param_is("uidx=1&uid=7", "uid", "7"));
    CHECK(param_is("x=uid=3", "uid", NULL));
    CHECK(param_is("", "uid", NULL));
    CHECK(param_is("a=%20b&uid=a%26b", "uid", "a%26b")); /* raw, not decoded */
    struct rp_slice v;
    CHECK(!rp_query_param((struct rp_slice){NULL, 0}, "uid", &v)); /* no '?' at all */
}

int main(void)
{
    RUN(test_cookies);
    RUN(test_query);
    TEST_MAIN_END();
}
