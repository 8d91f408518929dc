/* Unit tests for Accept-Encoding negotiation: the RFC 9110 12.5.3 examples, q=0 refusals, "*",
 * identity rules, preference ties, case and whitespace, several fields, malformed elements. */
#include <string.h>

#include "http/accept_encoding.h"
#include "test.h"

#define ID RP_CODING_IDENTITY
#define GZ RP_CODING_GZIP
#define BR RP_CODING_BR
#define ZS RP_CODING_ZSTD

/* The server order most tests use: brotli, then zstd, then gzip. */
static const enum rp_coding all_pref[] = {BR, ZS, GZ};

/* Negotiates over the Accept-Encoding fields in vals (NULL-terminated, at most 7), with an
 * unrelated field first so the lookup has to skip it. */
static int choose_n(const char *const *vals, const enum rp_coding *pref, size_t n)
{
    struct rp_header h[8];
    uint32_t nh = 0;
    h[nh++] = (struct rp_header){rp_slice_cstr("Accept"), rp_slice_cstr("gzip")};
    for (; *vals && nh < 8; vals++)
        h[nh++] = (struct rp_header){rp_slice_cstr("Accept-Encoding"), rp_slice_cstr(*vals)};
    struct rp_msg m = {.hdrs = h, .nhdrs = nh, .cap_hdrs = 8};
    return rp_accept_encoding_choose(&m, pref, n);
}

/* One field, the usual preference order. */
static int choose1(const char *v)
{
    const char *vals[] = {v, NULL};
    return choose_n(vals, all_pref, 3);
}

/* One field, preference given inline. */
static int choose_p(const char *v, const enum rp_coding *pref, size_t n)
{
    const char *vals[] = {v, NULL};
    return choose_n(vals, pref, n);
}

static void test_names(void)
{
    CHECK(!strcmp(rp_coding_name(ID), "identity"));
    CHECK(!strcmp(rp_coding_name(GZ), "gzip"));
    CHECK(!strcmp(rp_coding_name(BR), "br"));
    CHECK(!strcmp(rp_coding_name(ZS), "zstd"));
    CHECK_INT(rp_coding_parse(rp_slice_cstr("gzip")), GZ);
    CHECK_INT(rp_coding_parse(rp_slice_cstr("GZip")), GZ);
    CHECK_INT(rp_coding_parse(rp_slice_cstr("x-gzip")), GZ);
    CHECK_INT(rp_coding_parse(rp_slice_cstr("X-GZIP")), GZ);
    CHECK_INT(rp_coding_parse(rp_slice_cstr("BR")), BR);
    CHECK_INT(rp_coding_parse(rp_slice_cstr("zstd")), ZS);
    CHECK_INT(rp_coding_parse(rp_slice_cstr("Identity")), ID);
    CHECK_INT(rp_coding_parse(rp_slice_cstr("deflate")), -1);
    CHECK_INT(rp_coding_parse(rp_slice_cstr("*")), -1);
    CHECK_INT(rp_coding_parse(rp_slice_cstr("")), -1);
    CHECK_INT(rp_coding_parse(rp_slice_cstr("gzi")), -1);
    CHECK_INT(rp_coding_parse(rp_slice_cstr("gzipp")), -1);
    CHECK_INT(rp_coding_parse((struct rp_slice){"gzip", 3}), -1); /* length, not NUL, counts */
}

/* The examples of RFC 9110 12.5.3. */
static void test_rfc_examples(void)
{
    CHECK_INT(choose1("compress, gzip"), GZ);
    CHECK_INT(choose1(""), ID); /* empty: no coding wanted */
    CHECK_INT(choose1("*"), BR);
    CHECK_INT(choose1("compress;q=0.5, gzip;q=1.0"), GZ);
    CHECK_INT(choose1("gzip;q=1.0, identity; q=0.5, *;q=0"), GZ);
    static const enum rp_coding br_only[] = {BR};
    /* br is refused by "*;q=0", identity is explicitly allowed */
    CHECK_INT(choose_p("gzip;q=1.0, identity; q=0.5, *;q=0", br_only, 1), ID);
}

static void test_no_field(void)
{
    const char *none[] = {NULL};
    CHECK_INT(choose_n(none, all_pref, 3), ID);
    CHECK_INT(rp_accept_encoding_choose(NULL, all_pref, 3), ID);
    struct rp_msg empty = {0};
    CHECK_INT(rp_accept_encoding_choose(&empty, all_pref, 3), ID);
    CHECK_INT(rp_accept_encoding_choose(&empty, NULL, 0), ID);
    /* Only whitespace or empty elements: as an empty field */
    CHECK_INT(choose1("   "), ID);
    CHECK_INT(choose1(" , ,, "), ID);
}

static void test_q_values(void)
{
    CHECK_INT(choose1("gzip;q=0.5, br;q=0.4"), GZ);
    CHECK_INT(choose1("gzip;q=0.5, br;q=0.6"), BR);
    CHECK_INT(choose1("gzip;q=0.001, zstd;q=0"), GZ);
    CHECK_INT(choose1("gzip;q=0.999, zstd;q=1"), ZS);
    CHECK_INT(choose1("gzip;q=1.000, zstd;q=0.999"), GZ);
    CHECK_INT(choose1("gzip;q=0.25, zstd;q=0.251"), ZS);
    CHECK_INT(choose1("gzip;q=0., zstd;q=0.0"), ID); /* "0." is a valid zero */
    CHECK_INT(choose1("gzip;q=1., zstd;q=0.9"), GZ); /* "1." is a valid one */
    CHECK_INT(choose1("gzip;Q=0.5, br;Q=0.4"), GZ);  /* the weight name is case-insensitive */
    CHECK_INT(choose1("gzip;q=0"), ID);
    CHECK_INT(choose1("gzip;q=0.000"), ID);
    CHECK_INT(choose1("br;q=0, zstd;q=0, gzip;q=0"), ID);
    CHECK_INT(choose1("deflate, compress"), ID); /* nothing we can make */
}

static void test_refusals(void)
{
    /* q=0 on the preferred coding moves to the next acceptable one */
    CHECK_INT(choose1("br;q=0, gzip"), GZ);
    CHECK_INT(choose1("*, br;q=0"), ZS);
    CHECK_INT(choose1("*, br;q=0, zstd;q=0"), GZ);
    CHECK_INT(choose1("*;q=0.5, br;q=0, gzip"), GZ);
    CHECK_INT(choose1("*;q=0.5, br;q=0"), ZS);
    /* "*" covers only codings not named */
    CHECK_INT(choose1("gzip;q=0.2, *;q=0.8"), BR);
    CHECK_INT(choose1("gzip, *;q=0"), GZ);
    CHECK_INT(choose1("*;q=0, gzip"), GZ);
}

static void test_identity(void)
{
    /* identity;q=0 with no usable coding: nothing acceptable */
    CHECK_INT(choose1("identity;q=0"), -1);
    CHECK_INT(choose1("identity;q=0, deflate"), -1);
    CHECK_INT(choose1("identity;q=0, gzip"), GZ);
    CHECK_INT(choose1("identity;q=0, gzip;q=0"), -1);
    /* "*;q=0" refuses identity too unless identity is named with q > 0 */
    CHECK_INT(choose1("*;q=0"), -1);
    CHECK_INT(choose1("*;q=0, deflate"), -1);
    CHECK_INT(choose1("*;q=0, identity"), ID);
    CHECK_INT(choose1("identity;q=0.1, *;q=0"), ID);
    CHECK_INT(choose1("*;q=0, identity;q=0"), -1);
    CHECK_INT(choose1("*;q=0, gzip;q=0.3"), GZ);
    /* "*" with q > 0 makes identity acceptable as well */
    CHECK_INT(rp_accept_encoding_choose(&(struct rp_msg){0}, NULL, 0), ID);
    CHECK_INT(choose_p("*;q=0.3", NULL, 0), ID);
    CHECK_INT(choose_p("identity;q=0", NULL, 0), -1);
    CHECK_INT(choose_p("gzip", NULL, 0), ID); /* empty preference list: identity */
    /* identity listed by the server competes with its weight */
    static const enum rp_coding id_first[] = {ID, GZ};
    static const enum rp_coding gz_first[] = {GZ, ID};
    CHECK_INT(choose_p("gzip, identity", id_first, 2), ID); /* tie: earlier preference */
    CHECK_INT(choose_p("gzip, identity", gz_first, 2), GZ);
    CHECK_INT(choose_p("gzip;q=0.5, identity", gz_first, 2), ID);
    CHECK_INT(choose_p("gzip", id_first, 2), GZ); /* unnamed identity ranks below named codings */
    CHECK_INT(choose_p("identity;q=0, gzip;q=0", id_first, 2), -1);
    CHECK_INT(choose_p("deflate", id_first, 2), ID);
}

static void test_ties_and_preference(void)
{
    CHECK_INT(choose1("gzip, br, zstd"), BR);
    CHECK_INT(choose1("gzip;q=0.8, br;q=0.8, zstd;q=0.8"), BR);
    CHECK_INT(choose1("gzip;q=0.8, zstd;q=0.8"), ZS);
    static const enum rp_coding gz_pref[] = {GZ, ZS, BR};
    CHECK_INT(choose_p("gzip, br, zstd", gz_pref, 3), GZ);
    CHECK_INT(choose_p("br, zstd", gz_pref, 3), ZS);
    CHECK_INT(choose_p("gzip;q=0.5, br", gz_pref, 3), BR); /* q beats preference */
    static const enum rp_coding only_gz[] = {GZ};
    CHECK_INT(choose_p("br, zstd", only_gz, 1), ID); /* coding not offered: identity */
    CHECK_INT(choose_p("br, zstd, identity;q=0", only_gz, 1), -1);
    /* A repeated or out-of-range preference entry is harmless */
    static const enum rp_coding odd[] = {(enum rp_coding)99, GZ, GZ, (enum rp_coding) - 1, BR};
    CHECK_INT(choose_p("br;q=0.5, gzip;q=0.6", odd, 5), GZ);
    CHECK_INT(choose_p("br;q=0.5", odd, 5), BR);
    CHECK_INT(choose_p("br", odd, 1), ID);
}

static void test_case_and_whitespace(void)
{
    CHECK_INT(choose1("GZIP"), GZ);
    CHECK_INT(choose1("Br;Q=0.5, GZip;q=0.4"), BR);
    CHECK_INT(choose1("IDENTITY;q=0"), -1);
    CHECK_INT(choose1("gzip ; q=0.5 , br ;\tq=0.7"), BR);
    CHECK_INT(choose1("\t gzip\t;\tq=0.5\t,\tbr;q=0.2 \t"), GZ);
    CHECK_INT(choose1("  ,gzip,, ,br;q=0.1,"), GZ);
    CHECK_INT(choose1("gzip;q=0.5,br;q=0.7"), BR);
    CHECK_INT(choose1("br;;q=0.1 ; , gzip;q=0.2"), GZ); /* empty parameters are allowed */
}

static void test_x_gzip_and_duplicates(void)
{
    CHECK_INT(choose1("x-gzip"), GZ);
    CHECK_INT(choose1("X-Gzip;q=0.9, br;q=0.5"), GZ);
    CHECK_INT(choose1("x-gzip;q=0"), ID);
    /* duplicates keep their best weight */
    CHECK_INT(choose1("gzip;q=0, x-gzip;q=0.5, br;q=0.4"), GZ);
    CHECK_INT(choose1("br;q=0.1, br;q=0.9, gzip;q=0.5"), BR);
}

static void test_multiple_fields(void)
{
    const char *a[] = {"gzip;q=0.5", "br;q=0.8", NULL};
    CHECK_INT(choose_n(a, all_pref, 3), BR);
    const char *b[] = {"br;q=0", "gzip", NULL};
    CHECK_INT(choose_n(b, all_pref, 3), GZ);
    const char *c[] = {"gzip", "identity;q=0", "", NULL};
    static const enum rp_coding br_only[] = {BR};
    CHECK_INT(choose_n(c, br_only, 1), -1);
    const char *d[] = {"", "zstd", NULL}; /* an empty field next to a real one adds nothing */
    CHECK_INT(choose_n(d, all_pref, 3), ZS);
    const char *e[] = {"*;q=0", "identity", NULL};
    CHECK_INT(choose_n(e, all_pref, 3), ID);
    const char *f[] = {"gzip;q=0.1,", ",br;q=0.2", "bad;q=7", NULL};
    CHECK_INT(choose_n(f, all_pref, 3), BR);
}

static void test_malformed(void)
{
    /* A bad weight drops the element only */
    CHECK_INT(choose1("br;q=2, gzip"), GZ);
    CHECK_INT(choose1("br;q=0.1234, gzip;q=0.1"), GZ);
    CHECK_INT(choose1("br;q=abc, gzip;q=0.1"), GZ);
    CHECK_INT(choose1("br;q=1.5, gzip;q=0.1"), GZ);
    CHECK_INT(choose1("br;q=1.001, gzip;q=0.1"), GZ);
    CHECK_INT(choose1("br;q=-0, gzip;q=0.1"), GZ);
    CHECK_INT(choose1("br;q=.5, gzip;q=0.1"), GZ);
    CHECK_INT(choose1("br;q=, gzip;q=0.1"), GZ);
    CHECK_INT(choose1("br;q, gzip;q=0.1"), GZ);
    CHECK_INT(choose1("br;q=\"0.5\", gzip;q=0.1"), GZ);
    CHECK_INT(choose1("br;q = 0.5, gzip;q=0.1"), GZ);
    CHECK_INT(choose1("br;q=0.5;q=0.6, gzip;q=0.1"), GZ);
    CHECK_INT(choose1("br;q=0.5 0, gzip;q=0.1"), GZ);
    /* Junk tokens */
    CHECK_INT(choose1("br gzip, zstd;q=0.1"), ZS);
    CHECK_INT(choose1("b\"r, zstd;q=0.1"), ZS);
    CHECK_INT(choose1(";q=1, gzip;q=0.1"), GZ);
    CHECK_INT(choose1("gzip=1, zstd;q=0.1"), ZS);
    CHECK_INT(choose1("@@@, ===, gzip"), GZ);
    CHECK_INT(choose1("br;=x, gzip"), GZ);
    CHECK_INT(choose1("br;\"x\"=1, gzip"), GZ);
    /* A malformed refusal does not refuse */
    CHECK_INT(choose1("identity;q=0x, *;q=O"), ID);
    CHECK_INT(choose1("identity;q=00"), ID);
    /* Truncated inputs end cleanly */
    CHECK_INT(choose1("gzip;"), GZ);
    CHECK_INT(choose1("gzip;q"), ID);
    CHECK_INT(choose1("gzip;q="), ID);
    CHECK_INT(choose1("gzip;q=0."), ID);
    CHECK_INT(choose1("gzip;q=1.0000"), ID);
    CHECK_INT(choose1("gzip;a=\"unterminated"), ID);
    CHECK_INT(choose1("gzip;a=\"ends in escape\\"), ID);
    /* Other well-formed parameters are ignored */
    CHECK_INT(choose1("gzip;level=9"), GZ);
    CHECK_INT(choose1("gzip;a=\"x, br\";q=0.5, zstd;q=0.4"), GZ); /* ',' inside quotes */
    CHECK_INT(choose1("gzip;a=\"q\\\"x\";q=0.3, zstd;q=0.2"), GZ);
}

/* Lengths travel with the slice: bytes past the end must not be read as part of the field. */
static void test_bounds(void)
{
    static const char buf[] = "gzip;q=0.5XYZ, br";
    struct rp_header h = {rp_slice_cstr("accept-encoding"), {buf, 10}}; /* "gzip;q=0.5" */
    struct rp_msg m = {.hdrs = &h, .nhdrs = 1, .cap_hdrs = 1};
    CHECK_INT(rp_accept_encoding_choose(&m, all_pref, 3), GZ);
    h.value.n = 8; /* "gzip;q=0" */
    CHECK_INT(rp_accept_encoding_choose(&m, all_pref, 3), ID);
    h.value.n = 6; /* "gzip;q" */
    CHECK_INT(rp_accept_encoding_choose(&m, all_pref, 3), ID);
    h.value.n = 3; /* "gzi" */
    CHECK_INT(rp_accept_encoding_choose(&m, all_pref, 3), ID);
    /* A NUL byte is neither a token nor a separator */
    static const char nul[] = "br\0x, gzip";
    h.value = (struct rp_slice){nul, sizeof(nul) - 1};
    CHECK_INT(rp_accept_encoding_choose(&m, all_pref, 3), GZ);
}

int main(void)
{
    RUN(test_names);
    RUN(test_rfc_examples);
    RUN(test_no_field);
    RUN(test_q_values);
    RUN(test_refusals);
    RUN(test_identity);
    RUN(test_ties_and_preference);
    RUN(test_case_and_whitespace);
    RUN(test_x_gzip_and_duplicates);
    RUN(test_multiple_fields);
    RUN(test_malformed);
    RUN(test_bounds);
    TEST_MAIN_END();
}
