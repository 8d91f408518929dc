/* SNI name matching (src/tls/tls_sni.c): exact and wildcard names, case, trailing dots, the
 * one-label rule, lookup order, and which names a certificate entry may carry. */
#include "tls/tls_sni.h"
#include "test.h"

static void test_match(void)
{
    CHECK(rp_tls_name_match("example.com", "example.com"));
    CHECK(rp_tls_name_match("example.com", "EXAMPLE.com"));
    CHECK(rp_tls_name_match("example.com", "example.com."));
    CHECK(!rp_tls_name_match("example.com", "www.example.com"));
    CHECK(!rp_tls_name_match("example.com", "example.co"));
    CHECK(!rp_tls_name_match("example.com", ""));
    CHECK(rp_tls_name_match("*.example.com", "www.example.com"));
    CHECK(rp_tls_name_match("*.example.com", "WWW.Example.COM."));
    CHECK(!rp_tls_name_match("*.example.com", "example.com"));
    CHECK(!rp_tls_name_match("*.example.com", "a.b.example.com"));
    CHECK(!rp_tls_name_match("*.example.com", ".example.com"));
    CHECK(!rp_tls_name_match("*.example.com", "wwwexample.com"));
    /* a wildcard "host" (another certificate's name) is covered only by the same wildcard */
    CHECK(rp_tls_name_match("*.example.com", "*.example.com"));
    CHECK(!rp_tls_name_match("www.example.com", "*.example.com"));
    CHECK(!rp_tls_name_match("*.com", "*.example.com"));
}

static void test_find(void)
{
    int a, b, c;
    struct rp_tls_sni_entry tab[] = {
        {"*.example.com", &a},
        {"www.example.com", &b},
        {"other.test", &c},
    };
    CHECK(rp_tls_sni_find(tab, 3, "www.example.com") == &b); /* exact beats an earlier wildcard */
    CHECK(rp_tls_sni_find(tab, 3, "api.example.com") == &a);
    CHECK(rp_tls_sni_find(tab, 3, "OTHER.test") == &c);
    CHECK(rp_tls_sni_find(tab, 3, "example.com") == NULL);
    CHECK(rp_tls_sni_find(tab, 3, "") == NULL);
    CHECK(rp_tls_sni_find(tab, 3, NULL) == NULL);
    CHECK(rp_tls_sni_find(tab, 0, "www.example.com") == NULL);
}

static void test_valid(void)
{
    CHECK(rp_tls_name_valid("example.com"));
    CHECK(rp_tls_name_valid("localhost"));
    CHECK(rp_tls_name_valid("*.example.com"));
    CHECK(rp_tls_name_valid("a-b_c.example.com"));
    CHECK(!rp_tls_name_valid(""));
    CHECK(!rp_tls_name_valid("*.com"));
    CHECK(!rp_tls_name_valid("*example.com"));
    CHECK(!rp_tls_name_valid("w*.example.com"));
    CHECK(!rp_tls_name_valid("a..b"));
    CHECK(!rp_tls_name_valid(".example.com"));
    CHECK(!rp_tls_name_valid("example.com."));
    CHECK(!rp_tls_name_valid("exa mple.com"));
    CHECK(!rp_tls_name_valid("192.168.0.1:80"));
    char longlabel[80];
    memset(longlabel, 'a', 64);
    memcpy(longlabel + 64, ".com", 5);
    CHECK(!rp_tls_name_valid(longlabel));
}

int main(void)
{
    RUN(test_match);
    RUN(test_find);
    RUN(test_valid);
    TEST_MAIN_END();
}
