/* Unit tests for path normalisation (RFC 3986 5.2.4 dot-segments with the section 5.4 reference
 * examples merged onto the base path "/b/c/", percent-encoding normalisation and rejections) and
 * for the static-root join. */
#include <stdlib.h>

#include "http/uri.h"
#include "test.h"

struct ucase {
    const char *in;
    bool reject_slash;
    const char *out; /* NULL: -400 expected */
};

static const struct ucase cases[] = {
    /* RFC 3986 5.4.1 normal examples, the reference merged with base path "/b/c/" */
    {"/b/c/g", false, "/b/c/g"},
    {"/b/c/./g", false, "/b/c/g"},
    {"/b/c/g/", false, "/b/c/g/"},
    {"/g", false, "/g"},
    {"/b/c/;x", false, "/b/c/;x"},
    {"/b/c/g;x", false, "/b/c/g;x"},
    {"/b/c/.", false, "/b/c/"},
    {"/b/c/./", false, "/b/c/"},
    {"/b/c/..", false, "/b/"},
    {"/b/c/../", false, "/b/"},
    {"/b/c/../g", false, "/b/g"},
    {"/b/c/../..", false, "/"},
    {"/b/c/../../", false, "/"},
    {"/b/c/../../g", false, "/g"},
    /* 5.4.2 abnormal examples */
    {"/b/c/../../../g", false, "/g"},
    {"/b/c/../../../../g", false, "/g"},
    {"/./g", false, "/g"},
    {"/../g", false, "/g"},
    {"/b/c/g.", false, "/b/c/g."},
    {"/b/c/.g", false, "/b/c/.g"},
    {"/b/c/g..", false, "/b/c/g.."},
    {"/b/c/..g", false, "/b/c/..g"},
    {"/b/c/./../g", false, "/b/g"},
    {"/b/c/./g/.", false, "/b/c/g/"},
    {"/b/c/g/./h", false, "/b/c/g/h"},
    {"/b/c/g/../h", false, "/b/c/h"},
    {"/b/c/g;x=1/./y", false, "/b/c/g;x=1/y"},
    {"/b/c/g;x=1/../y", false, "/b/c/y"},
    /* 5.2.4 examples */
    {"/a/b/c/./../../g", false, "/a/g"},
    {"/mid/content=5/../6", false, "/mid/6"},
    /* edges */
    {"/", false, "/"},
    {"/.", false, "/"},
    {"/..", false, "/"},
    {"/../", false, "/"},
    {"/...", false, "/..."},
    {"//", false, "//"},
    {"/a//b", false, "/a//b"},
    {"/a//..", false, "/a/"},
    {"/a/b/", false, "/a/b/"},
    {"/../../etc/passwd", false, "/etc/passwd"},
    /* percent-encoding */
    {"/a/%2e%2e/b", false, "/b"},
    {"/a/%2E%2E/b", false, "/b"},
    {"/%2E./x", false, "/x"},
    {"/.%2e/x", false, "/x"},
    {"/a/%2e/b", false, "/a/b"},
    {"/%41", false, "/A"},
    {"/%7e%5F%2D%2e%30", false, "/~_-.0"},
    {"/a%2fb", false, "/a%2Fb"},
    {"/a%2Fb", false, "/a%2Fb"},
    {"/..%2f..%2fetc", false, "/..%2F..%2Fetc"},
    {"/a%2fb", true, NULL},
    {"/a%5cb", true, NULL},
    {"/a%5cb", false, "/a%5Cb"},
    {"/%20x%3a", false, "/%20x%3A"},
    {"/%25", false, "/%25"},
    {"/%c3%a9", false, "/%C3%A9"},
    {"/%zz", false, NULL},
    {"/%2", false, NULL},
    {"/%", false, NULL},
    {"/a%g0", false, NULL},
    {"/%00", false, NULL},
    {"/a%00.html", false, NULL},
    /* raw bytes */
    {"", false, NULL},
    {"a/b", false, NULL},
    {"/a b", false, NULL},
    {"/a\tb", false, NULL},
    {"/a#b", false, NULL},
    {"/caf\xc3\xa9", false, NULL},
    {"/a\x7f", false, NULL},
    {"/a:b@c!$&'()*+,;=", false, "/a:b@c!$&'()*+,;="},
};

static void test_normalize(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ucase *c = &cases[i];
        size_t n = strlen(c->in);
        char *out = malloc(n + 1);
        ssize_t r = rp_uri_normalize_path((struct rp_slice){c->in, n}, out, n + 1, c->reject_slash);
        if (c->out) {
            if (r < 0 || strcmp(out, c->out) != 0)
                fprintf(stderr, "case \"%s\"\n", c->in);
            CHECK_INT(r, strlen(c->out));
            if (r > 0)
                CHECK_MEM(out, (size_t)r, c->out);
        } else {
            if (r != -400)
                fprintf(stderr, "case \"%s\"\n", c->in);
            CHECK_INT(r, -400);
        }
        free(out);
    }
    /* an embedded raw NUL is refused */
    char out[16];
    CHECK_INT(rp_uri_normalize_path((struct rp_slice){"/a\0b", 4}, out, sizeof(out), false), -400);
    /* a too small output buffer is refused, never overrun */
    CHECK_INT(rp_uri_normalize_path(RP_SLICE_LIT("/abc"), out, 4, false), -400);
}

static void test_safe_join(void)
{
    char out[64];
    CHECK(rp_uri_safe_join("/srv/www", RP_SLICE_LIT("/index.html"), out, sizeof(out)));
    CHECK(strcmp(out, "/srv/www/index.html") == 0);
    CHECK(rp_uri_safe_join("/srv/www/", RP_SLICE_LIT("/a/b"), out, sizeof(out)));
    CHECK(strcmp(out, "/srv/www/a/b") == 0);
    CHECK(rp_uri_safe_join("/srv", RP_SLICE_LIT("/"), out, sizeof(out)));
    CHECK(strcmp(out, "/srv/") == 0);
    CHECK(rp_uri_safe_join("/srv", RP_SLICE_LIT("/a/.../b..c/.x"), out, sizeof(out)));
    CHECK(!rp_uri_safe_join("/srv", RP_SLICE_LIT("/../etc/passwd"), out, sizeof(out)));
    CHECK(!rp_uri_safe_join("/srv", RP_SLICE_LIT("/a/.."), out, sizeof(out)));
    CHECK(!rp_uri_safe_join("/srv", RP_SLICE_LIT("/a/./b"), out, sizeof(out)));
    CHECK(!rp_uri_safe_join("/srv", RP_SLICE_LIT("/."), out, sizeof(out)));
    CHECK(!rp_uri_safe_join("/srv", RP_SLICE_LIT("a"), out, sizeof(out)));
    CHECK(!rp_uri_safe_join("/srv", RP_SLICE_LIT(""), out, sizeof(out)));
    CHECK(!rp_uri_safe_join("", RP_SLICE_LIT("/a"), out, sizeof(out)));
    CHECK(!rp_uri_safe_join("/srv", (struct rp_slice){"/a\0b", 4}, out, sizeof(out)));
    CHECK(!rp_uri_safe_join("/srv", RP_SLICE_LIT("/abcdef"), out, 11));
    CHECK(rp_uri_safe_join("/srv", RP_SLICE_LIT("/abcdef"), out, 12));
}

int main(void)
{
    RUN(test_normalize);
    RUN(test_safe_join);
    TEST_MAIN_END();
}
