/* HTTP-date formatting and parsing (RFC 9110 section 5.6.7): we always send IMF-fixdate and accept
 * the two obsolete forms (RFC 850, asctime) on input. Locale-free on purpose: strftime/strptime
 * would follow LC_TIME, and day and month names in HTTP are fixed English tokens. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handler/static_file.h"

static const char *const day_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const day_names_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday"};
static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void rp_http_date(int64_t t, char *out, size_t cap)
{
    if (cap == 0)
        return;
    struct tm tm;
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
        tm.tm_mon > 11) {
        /* Out of range for struct tm: say the epoch rather than print garbage. */
        tt = 0;
        gmtime_r(&tt, &tm);
    }
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", day_names[tm.tm_wday], tm.tm_mday,
             month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A small cursor over the input: every reader checks bounds and advances only on success. */
struct cur {
    const char *p;
    size_t n;
};

static bool lit(struct cur *c, const char *s)
{
    size_t k = strlen(s);
    if (c->n < k || memcmp(c->p, s, k) != 0)
        return false;
    c->p += k;
    c->n -= k;
    return true;
}

/* Exactly k digits. */
static bool digits(struct cur *c, size_t k, int *v)
{
    if (c->n < k)
        return false;
    int x = 0;
    for (size_t i = 0; i < k; i++) {
        if (c->p[i] < '0' || c->p[i] > '9')
            return false;
        x = x * 10 + (c->p[i] - '0');
    }
    *v = x;
    c->p += k;
    c->n -= k;
    return true;
}

/* One of names[0..count), case-sensitive as RFC 9110 requires; returns its index or -1. */
static int name_of(struct cur *c, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (lit(c, names[i]))
            return i;
    return -1;
}

/* "HH:MM:SS" */
static bool time_of_day(struct cur *c, struct tm *tm)
{
    return digits(c, 2, &tm->tm_hour) && lit(c, ":") && digits(c, 2, &tm->tm_min) && lit(c, ":") &&
           digits(c, 2, &tm->tm_sec);
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Range checks, so that timegm never silently normalises "Feb 31" into March. */
static bool valid_tm(const struct tm *tm, int year)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_mday < 1)
        return false;
    int max = mdays[tm->tm_mon] + (tm->tm_mon == 1 && is_leap(year) ? 1 : 0);
    return tm->tm_mday <= max && tm->tm_hour <= 23 && tm->tm_min <= 59 &&
           tm->tm_sec <= 60; /* 60: a leap second, which timegm folds into the next minute */
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" (after the day name was read). */
static bool parse_imf(struct cur *c, struct tm *tm, int *year)
{
    return lit(c, ", ") && digits(c, 2, &tm->tm_mday) && lit(c, " ") &&
           (tm->tm_mon = name_of(c, month_names, 12)) >= 0 && lit(c, " ") && digits(c, 4, year) &&
           lit(c, " ") && time_of_day(c, tm) && lit(c, " GMT") && c->n == 0;
}

/* "Sunday, 06-Nov-94 08:49:37 GMT" (after the long day name was read). */
static bool parse_rfc850(struct cur *c, struct tm *tm, int *year)
{
    int yy;
    if (!(lit(c, ", ") && digits(c, 2, &tm->tm_mday) && lit(c, "-") &&
          (tm->tm_mon = name_of(c, month_names, 12)) >= 0 && lit(c, "-") && digits(c, 2, &yy) &&
          lit(c, " ") && time_of_day(c, tm) && lit(c, " GMT") && c->n == 0))
        return false;
    /* RFC 9110 5.6.7: a two-digit year more than 50 years in the future means the most recent
     * past year with those last two digits. */
    struct tm now;
    time_t t = time(NULL);
    int cur_year = gmtime_r(&t, &now) ? now.tm_year + 1900 : 2000;
    int y = cur_year - cur_year % 100 + yy;
    if (y > cur_year + 50)
        y -= 100;
    *year = y;
    return true;
}

/* "Sun Nov  6 08:49:37 1994" (after the day name was read); the day is 2DIGIT or SP 1DIGIT. */
static bool parse_asctime(struct cur *c, struct tm *tm, int *year)
{
    if (!lit(c, " ") || (tm->tm_mon = name_of(c, month_names, 12)) < 0 || !lit(c, " "))
        return false;
    if (lit(c, " ")) {
        if (!digits(c, 1, &tm->tm_mday))
            return false;
    } else if (!digits(c, 2, &tm->tm_mday)) {
        return false;
    }
    return lit(c, " ") && time_of_day(c, tm) && lit(c, " ") && digits(c, 4, year) && c->n == 0;
}

int rp_http_date_parse(struct rp_slice s, int64_t *t)
{
    s = rp_slice_trim_ows(s);
    if (s.n == 0 || s.p == NULL)
        return -1;
    struct cur c = {s.p, s.n};
    struct tm tm = {0};
    int year = 0;
    bool ok;
    /* Long names first: "Sunday" must not be taken as "Sun" followed by garbage, and the short
     * name is a prefix of the long one. */
    struct cur save = c;
    if (name_of(&c, day_names_long, 7) >= 0) {
        ok = parse_rfc850(&c, &tm, &year);
    } else {
        c = save;
        if (name_of(&c, day_names, 7) < 0)
            return -1;
        if (c.n > 0 && c.p[0] == ',')
            ok = parse_imf(&c, &tm, &year);
        else
            ok = parse_asctime(&c, &tm, &year);
    }
    if (!ok || !valid_tm(&tm, year))
        return -1;
    tm.tm_year = year - 1900;
    tm.tm_isdst = 0;
    *t = (int64_t)timegm(&tm);
    return 0;
}
