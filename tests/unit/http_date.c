/* Unit tests for HTTP-date formatting and parsing (RFC 9110 5.6.7): the three accepted forms,
 * round trips, the RFC 850 two-digit-year rule, and inputs that must be refused. */
#include <stdint.h>
#include <time.h>

#include "handler/static_file.h"
#include "test.h"

#define T1994 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */

static int64_t parse(const char *s, int *rc)
{
    int64_t t = -12345;
    *rc = rp_http_date_parse(rp_slice_cstr(s), &t);
    return t;
}

static void test_format(void)
{
    char buf[40];
    rp_http_date(T1994, buf, sizeof(buf));
    CHECK(strcmp(buf, "Sun, 06 Nov 1994 08:49:37 GMT") == 0);
    rp_http_date(0, buf, sizeof(buf));
    CHECK(strcmp(buf, "Thu, 01 Jan 1970 00:00:00 GMT") == 0);
    rp_http_date(951782400, buf, sizeof(buf)); /* leap day 2000 */
    CHECK(strcmp(buf, "Tue, 29 Feb 2000 00:00:00 GMT") == 0);
    rp_http_date(T1994, buf, 30); /* exactly enough */
    CHECK_INT(strlen(buf), 29);
    rp_http_date(T1994, buf, 5); /* truncates, stays terminated */
    CHECK(strcmp(buf, "Sun,") == 0);
}

static void test_parse_forms(void)
{
    int rc;
    CHECK_INT(parse("Sun, 06 Nov 1994 08:49:37 GMT", &rc), T1994);
    CHECK_INT(rc, 0);
    CHECK_INT(parse("Sunday, 06-Nov-94 08:49:37 GMT", &rc), T1994);
    CHECK_INT(rc, 0);
    CHECK_INT(parse("Sun Nov  6 08:49:37 1994", &rc), T1994);
    CHECK_INT(rc, 0);
    CHECK_INT(parse("Sun Nov 16 08:49:37 1994", &rc), T1994 + 10 * 86400);
    CHECK_INT(rc, 0);
    CHECK_INT(parse("  Sun, 06 Nov 1994 08:49:37 GMT \t", &rc), T1994); /* OWS trimmed */
    CHECK_INT(rc, 0);
    CHECK_INT(parse("Tue, 29 Feb 2000 00:00:00 GMT", &rc), 951782400);
    CHECK_INT(rc, 0);
    CHECK_INT(parse("Wed, 09 Jun 2021 10:18:14 GMT", &rc), 1623233894);
    CHECK_INT(rc, 0);
    CHECK_INT(parse("Wednesday, 09-Jun-21 10:18:14 GMT", &rc), 1623233894);
    CHECK_INT(rc, 0);
}

static void test_round_trip(void)
{
    static const int64_t ts[] = {0, 1, 86399, T1994, 951782400, 1700000000, 4102444799};
    char buf[40];
    for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
        rp_http_date(ts[i], buf, sizeof(buf));
        int rc;
        CHECK_INT(parse(buf, &rc), ts[i]);
        CHECK_INT(rc, 0);
    }
}

static void test_rfc850_year(void)
{
    /* Two-digit years resolve to within 50 years ahead of now, else the century before. */
    struct tm now;
    time_t t = time(NULL);
    gmtime_r(&t, &now);
    int year = now.tm_year + 1900;
    char in[64];
    struct tm tm;
    int rc;

    int past = year - 1; /* last year */
    snprintf(in, sizeof(in), "Monday, 01-Jan-%02d 00:00:00 GMT", past % 100);
    time_t got = (time_t)parse(in, &rc);
    CHECK_INT(rc, 0);
    gmtime_r(&got, &tm);
    CHECK_INT(tm.tm_year + 1900, past);

    int far = year + 60; /* more than 50 years ahead: a century back */
    snprintf(in, sizeof(in), "Monday, 01-Jan-%02d 00:00:00 GMT", far % 100);
    got = (time_t)parse(in, &rc);
    CHECK_INT(rc, 0);
    gmtime_r(&got, &tm);
    CHECK_INT(tm.tm_year + 1900, far - 100);
}

static void test_parse_rejects(void)
{
    static const char *const bad[] = {
        "",
        "Sun, 06 Nov 1994 08:49:37",     /* no GMT */
        "Sun, 06 Nov 1994 08:49:37 UTC", /* only GMT */
        "Sun, 6 Nov 1994 08:49:37 GMT",  /* 2DIGIT day */
        "sun, 06 Nov 1994 08:49:37 GMT", /* case-sensitive names */
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT", /* no such day */
        "Sun, 29 Feb 1900 08:49:37 GMT", /* 1900 not a leap year */
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMTx", /* trailing garbage */
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday 06-Nov-94 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994", /* asctime day needs SP pad */
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sunx 06 Nov 1994 08:49:37 GMT",
        "0",
        "Sun, 06 Nov 1994 08:49:3",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        parse(bad[i], &rc);
        if (rc != -1)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        CHECK_INT(rc, -1);
    }
    int64_t t;
    CHECK_INT(rp_http_date_parse(RP_SLICE_NULL, &t), -1);
    /* not NUL-terminated input: the parser stays within the slice */
    const char *s = "Sun, 06 Nov 1994 08:49:37 GMTGARBAGE";
    CHECK_INT(rp_http_date_parse((struct rp_slice){s, 29}, &t), 0);
    CHECK_INT(t, T1994);
    CHECK_INT(rp_http_date_parse((struct rp_slice){s, 28}, &t), -1);
}

int main(void)
{
    RUN(test_format);
    RUN(test_parse_forms);
    RUN(test_round_trip);
    RUN(test_rfc850_year);
    RUN(test_parse_rejects);
    TEST_MAIN_END();
}
