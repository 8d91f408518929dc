/* Unit tests for src/cache/cache_control.c: Cache-Control parsing, shared-cache storability,
 * freshness lifetime, age and usability, with cases from RFC 9111 / RFC 5861 and edge cases
 * (quoted arguments, case, several fields, malformed and huge values). */
#include "cache/cache_control.h"

#include "test.h"

#define MAXH 8

/* A message from "Name: value" strings (NULL-terminated list); storage lives in *hs. */
struct tmsg {
    struct rp_header h[MAXH];
    struct rp_msg m;
};

static const struct rp_msg *mk(struct tmsg *t, int status, enum rp_method meth, const char **lines)
{
    memset(t, 0, sizeof(*t));
    uint32_t n = 0;
    for (; lines && lines[n] && n < MAXH; n++) {
        const char *c = strchr(lines[n], ':');
        t->h[n].name = (struct rp_slice){lines[n], (size_t)(c - lines[n])};
        t->h[n].value = rp_slice_trim_ows(rp_slice_cstr(c + 1));
    }
    t->m.hdrs = t->h;
    t->m.nhdrs = n;
    t->m.cap_hdrs = MAXH;
    t->m.status = status;
    t->m.meth = meth;
    return &t->m;
}

/* Parse a single Cache-Control value. */
static struct rp_cc cc1(const char *v, bool is_request)
{
    struct tmsg t;
    char line[512];
    snprintf(line, sizeof(line), "Cache-Control: %s", v);
    const char *l[] = {line, NULL};
    struct rp_cc cc;
    rp_cc_parse(mk(&t, 200, RP_METH_GET, l), is_request, &cc);
    /* the slices point into line, which dies here: tests that read them use mk directly */
    cc.no_cache_fields.p = cc.no_cache_fields.p ? "" : NULL;
    cc.private_fields.p = cc.private_fields.p ? "" : NULL;
    return cc;
}

static void test_parse_empty(void)
{
    struct tmsg t;
    struct rp_cc cc;
    rp_cc_parse(mk(&t, 200, RP_METH_GET, NULL), false, &cc);
    CHECK(!cc.present);
    CHECK_INT(cc.max_age, RP_CC_ABSENT);
    CHECK_INT(cc.s_maxage, RP_CC_ABSENT);
    CHECK_INT(cc.max_stale, RP_CC_ABSENT);
    CHECK_INT(cc.min_fresh, RP_CC_ABSENT);
    CHECK_INT(cc.stale_while_revalidate, RP_CC_ABSENT);
    CHECK_INT(cc.stale_if_error, RP_CC_ABSENT);
    CHECK(!cc.no_store && !cc.no_cache && !cc.private_ && !cc.public_);
    CHECK(cc.no_cache_fields.p == NULL && cc.private_fields.p == NULL);

    struct rp_cc e = cc1("", false);
    CHECK(e.present);
    CHECK_INT(e.max_age, RP_CC_ABSENT);
}

static void test_parse_every_directive(void)
{
    struct rp_cc cc = cc1("max-age=60, s-maxage=120, no-store, no-transform, only-if-cached, "
                          "no-cache, private, public, must-revalidate, proxy-revalidate, "
                          "immutable, must-understand, stale-while-revalidate=30, "
                          "stale-if-error=600, max-stale=5, min-fresh=7",
                          false);
    CHECK(cc.present);
    CHECK_INT(cc.max_age, 60);
    CHECK_INT(cc.s_maxage, 120);
    CHECK_INT(cc.stale_while_revalidate, 30);
    CHECK_INT(cc.stale_if_error, 600);
    CHECK_INT(cc.max_stale, 5);
    CHECK_INT(cc.min_fresh, 7);
    CHECK(cc.no_store && cc.no_transform && cc.only_if_cached && cc.no_cache && cc.private_);
    CHECK(cc.public_ && cc.must_revalidate && cc.proxy_revalidate && cc.immutable);
    CHECK(cc.must_understand);
    CHECK(cc.no_cache_fields.p == NULL && cc.private_fields.p == NULL);
}

static void test_parse_case_and_space(void)
{
    struct rp_cc cc = cc1("MAX-AGE=10 ,\tNo-Store,,  Public ,", false);
    CHECK_INT(cc.max_age, 10);
    CHECK(cc.no_store && cc.public_);
    /* lenient: whitespace around '=' */
    cc = cc1("max-age = 11", false);
    CHECK_INT(cc.max_age, 11);
    /* unknown extensions are ignored, with or without arguments */
    cc = cc1("community=\"UCI\", foo, bar=baz, max-age=3", false);
    CHECK_INT(cc.max_age, 3);
    CHECK(!cc.no_store);
}

static void test_parse_quoted(void)
{
    /* RFC 9111 5.2: recipients accept the quoted form of delta-seconds too */
    struct rp_cc cc = cc1("max-age=\"60\"", false);
    CHECK_INT(cc.max_age, 60);
    cc = cc1("max-stale=\"9\"", true);
    CHECK_INT(cc.max_stale, 9);
    /* a comma inside a quoted string does not end the directive */
    cc = cc1("private=\"a, max-age=5\", s-maxage=2", false);
    CHECK_INT(cc.max_age, RP_CC_ABSENT);
    CHECK_INT(cc.s_maxage, 2);
    CHECK(cc.private_);
    /* escaped quote inside */
    cc = cc1("no-cache=\"x\\\"y\", max-age=4", false);
    CHECK_INT(cc.max_age, 4);
    CHECK(cc.no_cache && cc.no_cache_fields.p != NULL);
}

static void test_parse_field_lists(void)
{
    struct tmsg t;
    const char *l[] = {"Cache-Control: no-cache=\"Set-Cookie, X-A\", max-age=10",
                       "cache-control: private=\"Authorization-Info\"", NULL};
    struct rp_cc cc;
    rp_cc_parse(mk(&t, 200, RP_METH_GET, l), false, &cc);
    CHECK(cc.no_cache && cc.private_);
    CHECK_MEM(cc.no_cache_fields.p, cc.no_cache_fields.n, "Set-Cookie, X-A");
    CHECK_MEM(cc.private_fields.p, cc.private_fields.n, "Authorization-Info");
    CHECK_INT(cc.max_age, 10);

    /* token form (not what senders should use, but readable) */
    const char *l2[] = {"Cache-Control: private=X-Secret", NULL};
    rp_cc_parse(mk(&t, 200, RP_METH_GET, l2), false, &cc);
    CHECK_MEM(cc.private_fields.p, cc.private_fields.n, "X-Secret");

    /* a bare form anywhere makes the directive apply to the whole */
    const char *l3[] = {"Cache-Control: no-cache=\"X-A\"", "Cache-Control: no-cache", NULL};
    rp_cc_parse(mk(&t, 200, RP_METH_GET, l3), false, &cc);
    CHECK(cc.no_cache && cc.no_cache_fields.p == NULL);

    /* two lists cannot be merged into one slice: whole, the safe side */
    const char *l4[] = {"Cache-Control: private=\"A\", private=\"B\"", NULL};
    rp_cc_parse(mk(&t, 200, RP_METH_GET, l4), false, &cc);
    CHECK(cc.private_ && cc.private_fields.p == NULL);

    /* unterminated quote: a list we cannot read means the whole */
    const char *l5[] = {"Cache-Control: max-age=5, private=\"A, B", NULL};
    rp_cc_parse(mk(&t, 200, RP_METH_GET, l5), false, &cc);
    CHECK(cc.private_ && cc.private_fields.p == NULL);
    CHECK_INT(cc.max_age, 5);

    /* an empty list is still a list */
    const char *l6[] = {"Cache-Control: private=\"\"", NULL};
    rp_cc_parse(mk(&t, 200, RP_METH_GET, l6), false, &cc);
    CHECK(cc.private_ && cc.private_fields.p != NULL && cc.private_fields.n == 0);
}

static void test_parse_multiple_fields(void)
{
    struct tmsg t;
    const char *l[] = {"Cache-Control: public", "Content-Type: text/plain",
                       "Cache-Control: max-age=30", "CACHE-CONTROL: must-revalidate", NULL};
    struct rp_cc cc;
    rp_cc_parse(mk(&t, 200, RP_METH_GET, l), false, &cc);
    CHECK(cc.public_ && cc.must_revalidate);
    CHECK_INT(cc.max_age, 30);
}

static void test_parse_duplicates(void)
{
    /* same value twice: fine */
    struct rp_cc cc = cc1("max-age=10, max-age=10", false);
    CHECK_INT(cc.max_age, 10);
    /* conflicting max-age / s-maxage in a response: stale (4.2.1) */
    cc = cc1("max-age=10, max-age=20", false);
    CHECK_INT(cc.max_age, 0);
    cc = cc1("s-maxage=100, s-maxage=5, s-maxage=100", false);
    CHECK_INT(cc.s_maxage, 0);
    /* in a request the most restrictive wins */
    cc = cc1("max-age=10, max-age=20", true);
    CHECK_INT(cc.max_age, 10);
    cc = cc1("min-fresh=10, min-fresh=20", true);
    CHECK_INT(cc.min_fresh, 20);
    cc = cc1("max-stale, max-stale=20", true);
    CHECK_INT(cc.max_stale, 20);
    cc = cc1("stale-while-revalidate=60, stale-while-revalidate=5", false);
    CHECK_INT(cc.stale_while_revalidate, 5);
    cc = cc1("stale-if-error=60, stale-if-error=500", false);
    CHECK_INT(cc.stale_if_error, 60);
}

static void test_parse_bad_values(void)
{
    /* malformed max-age/s-maxage in a response: stale at once */
    struct rp_cc cc = cc1("max-age=abc", false);
    CHECK_INT(cc.max_age, 0);
    cc = cc1("max-age", false);
    CHECK_INT(cc.max_age, 0);
    cc = cc1("max-age=-1", false);
    CHECK_INT(cc.max_age, 0);
    cc = cc1("max-age=1.5", false);
    CHECK_INT(cc.max_age, 0);
    cc = cc1("max-age=\" 60\"", false);
    CHECK_INT(cc.max_age, 0);
    cc = cc1("s-maxage=", false);
    CHECK_INT(cc.s_maxage, 0);
    cc = cc1("max-age=10 junk", false);
    CHECK_INT(cc.max_age, 0);
    /* ... and a later valid one does not rescue it */
    cc = cc1("max-age=x, max-age=60", false);
    CHECK_INT(cc.max_age, 0);
    /* malformed request directives are ignored */
    cc = cc1("max-age=abc, min-fresh=-3, max-stale=x", true);
    CHECK_INT(cc.max_age, RP_CC_ABSENT);
    CHECK_INT(cc.min_fresh, RP_CC_ABSENT);
    CHECK_INT(cc.max_stale, RP_CC_ABSENT);
    cc = cc1("stale-while-revalidate=soon, stale-if-error", false);
    CHECK_INT(cc.stale_while_revalidate, RP_CC_ABSENT);
    CHECK_INT(cc.stale_if_error, RP_CC_ABSENT);
    /* max-stale without a value: any staleness */
    cc = cc1("max-stale", true);
    CHECK(cc.max_stale == RP_CC_UNBOUNDED);
    /* overflow saturates at 2^31 (RFC 9111 1.2.2) */
    cc = cc1("max-age=99999999999999999999999999", false);
    CHECK_INT(cc.max_age, 2147483648LL);
    cc = cc1("max-age=2147483648", false);
    CHECK_INT(cc.max_age, 2147483648LL);
    cc = cc1("max-age=2147483647", false);
    CHECK_INT(cc.max_age, 2147483647LL);
    cc = cc1("max-age=0000000000000000000000000000000000005", false);
    CHECK_INT(cc.max_age, 5);
    /* a directive name glued to junk is not the directive */
    cc = cc1("no-stored, xno-store", false);
    CHECK(!cc.no_store);
    /* a malformed directive still counts when it restricts, never when it permits */
    cc = cc1("no-store\"x\", max-age=1", false);
    CHECK(cc.no_store);
    CHECK_INT(cc.max_age, 1);
    cc = cc1("public junk, immutable=\"x, must-understand", false);
    CHECK(!cc.public_ && !cc.immutable && !cc.must_understand);
    cc = cc1("must-revalidate=\"x\" y", false);
    CHECK(cc.must_revalidate);
}

static void test_parse_pragma(void)
{
    struct tmsg t;
    struct rp_cc cc;
    const char *l[] = {"Pragma: no-cache", NULL};
    rp_cc_parse(mk(&t, 0, RP_METH_GET, l), true, &cc);
    CHECK(cc.no_cache && !cc.present);
    /* a response's Pragma means nothing */
    rp_cc_parse(mk(&t, 200, RP_METH_GET, l), false, &cc);
    CHECK(!cc.no_cache);
    /* with Cache-Control present, Pragma is ignored (5.4) */
    const char *l2[] = {"Pragma: no-cache", "Cache-Control: max-age=5", NULL};
    rp_cc_parse(mk(&t, 0, RP_METH_GET, l2), true, &cc);
    CHECK(!cc.no_cache);
    CHECK_INT(cc.max_age, 5);
    const char *l3[] = {"Pragma: foo, NO-CACHE", NULL};
    rp_cc_parse(mk(&t, 0, RP_METH_GET, l3), true, &cc);
    CHECK(cc.no_cache);
}

static const struct rp_cache_rules rules_default = {
    .store_set_cookie = false, .heuristic = true, .heuristic_max = 86400, .default_ttl = 0};

/* storable() for a request with req_lines and a response with status and resp_lines. */
static bool st(enum rp_method meth, const char **req_lines, int status, const char **resp_lines,
               const struct rp_cache_rules *rules, const char **why)
{
    struct tmsg tq, tr;
    struct rp_cc qc, rc;
    const struct rp_msg *q = mk(&tq, 0, meth, req_lines);
    const struct rp_msg *r = mk(&tr, status, RP_METH_OTHER, resp_lines);
    rp_cc_parse(q, true, &qc);
    rp_cc_parse(r, false, &rc);
    return rp_cache_storable(q, &qc, r, &rc, rules ? rules : &rules_default, why);
}

static void test_storable(void)
{
    const char *why = NULL;
    const char *fresh[] = {"Cache-Control: max-age=60", NULL};
    CHECK(st(RP_METH_GET, NULL, 200, fresh, NULL, &why));
    CHECK(why == NULL);

    /* methods: GET only (HEAD is answered from a stored GET, never stored itself) */
    CHECK(!st(RP_METH_HEAD, NULL, 200, fresh, NULL, &why));
    CHECK(why && strcmp(why, "method") == 0);
    CHECK(!st(RP_METH_POST, NULL, 200, fresh, NULL, &why));

    /* statuses */
    CHECK(!st(RP_METH_GET, NULL, 100, fresh, NULL, &why));
    CHECK(!st(RP_METH_GET, NULL, 304, fresh, NULL, &why));
    CHECK(!st(RP_METH_GET, NULL, 206, fresh, NULL, &why));
    CHECK(!st(RP_METH_GET, NULL, 299, fresh, NULL, &why));
    CHECK(why && strcmp(why, "status") == 0);
    CHECK(st(RP_METH_GET, NULL, 302, fresh, NULL, &why));
    CHECK(st(RP_METH_GET, NULL, 503, fresh, NULL, &why));
    /* without explicit freshness: only heuristically cacheable statuses (with Last-Modified) */
    const char *lm[] = {"Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT", NULL};
    CHECK(st(RP_METH_GET, NULL, 200, lm, NULL, &why));
    CHECK(st(RP_METH_GET, NULL, 404, lm, NULL, &why));
    CHECK(!st(RP_METH_GET, NULL, 302, lm, NULL, &why));
    CHECK(!st(RP_METH_GET, NULL, 500, lm, NULL, &why));
    CHECK(!st(RP_METH_GET, NULL, 200, NULL, NULL, &why));
    CHECK(why && strcmp(why, "no freshness") == 0);
    struct rp_cache_rules noheur = rules_default;
    noheur.heuristic = false;
    CHECK(!st(RP_METH_GET, NULL, 200, lm, &noheur, &why));
    struct rp_cache_rules ttl = rules_default;
    ttl.default_ttl = 30;
    CHECK(st(RP_METH_GET, NULL, 200, NULL, &ttl, &why));
    CHECK(!st(RP_METH_GET, NULL, 500, NULL, &ttl, &why));
    /* Expires (even invalid) and public make it storable */
    const char *exp0[] = {"Expires: 0", NULL};
    CHECK(st(RP_METH_GET, NULL, 200, exp0, NULL, &why));
    const char *pub[] = {"Cache-Control: public", NULL};
    CHECK(st(RP_METH_GET, NULL, 500, pub, NULL, &why));
    const char *sm[] = {"Cache-Control: s-maxage=5", NULL};
    CHECK(st(RP_METH_GET, NULL, 200, sm, NULL, &why));

    /* no-store on either side */
    const char *ns[] = {"Cache-Control: max-age=60, no-store", NULL};
    CHECK(!st(RP_METH_GET, NULL, 200, ns, NULL, &why));
    CHECK(why && strcmp(why, "no-store") == 0);
    const char *qns[] = {"Cache-Control: no-store", NULL};
    CHECK(!st(RP_METH_GET, qns, 200, fresh, NULL, &why));
    /* must-understand with an understood status overrides no-store (5.2.2.3) */
    const char *mu[] = {"Cache-Control: must-understand, no-store, max-age=60", NULL};
    CHECK(st(RP_METH_GET, NULL, 200, mu, NULL, &why));
    CHECK(!st(RP_METH_GET, NULL, 299, mu, NULL, &why));
    CHECK(!st(RP_METH_GET, qns, 200, mu, NULL, &why));

    /* private: bare never; qualified stored without the named fields */
    const char *pv[] = {"Cache-Control: private, max-age=60", NULL};
    CHECK(!st(RP_METH_GET, NULL, 200, pv, NULL, &why));
    CHECK(why && strcmp(why, "private") == 0);
    const char *pvq[] = {"Cache-Control: private=\"X-User\", max-age=60", NULL};
    CHECK(st(RP_METH_GET, NULL, 200, pvq, NULL, &why));

    /* Authorization (3.5): only with public, must-revalidate or s-maxage */
    const char *auth[] = {"Authorization: Basic Zm9vOmJhcg==", NULL};
    CHECK(!st(RP_METH_GET, auth, 200, fresh, NULL, &why));
    CHECK(why && strcmp(why, "authorization") == 0);
    const char *apub[] = {"Cache-Control: public, max-age=60", NULL};
    CHECK(st(RP_METH_GET, auth, 200, apub, NULL, &why));
    const char *amr[] = {"Cache-Control: must-revalidate, max-age=60", NULL};
    CHECK(st(RP_METH_GET, auth, 200, amr, NULL, &why));
    CHECK(st(RP_METH_GET, auth, 200, sm, NULL, &why));
    const char *apr[] = {"Cache-Control: proxy-revalidate, max-age=60", NULL};
    CHECK(!st(RP_METH_GET, auth, 200, apr, NULL, &why));

    /* Set-Cookie only when the route allows it */
    const char *ck[] = {"Cache-Control: max-age=60", "Set-Cookie: a=b", NULL};
    CHECK(!st(RP_METH_GET, NULL, 200, ck, NULL, &why));
    CHECK(why && strcmp(why, "set-cookie") == 0);
    struct rp_cache_rules cookies = rules_default;
    cookies.store_set_cookie = true;
    CHECK(st(RP_METH_GET, NULL, 200, ck, &cookies, &why));

    /* Vary: * never; other Vary values are fine */
    const char *vs[] = {"Cache-Control: max-age=60", "Vary: Accept-Encoding, *", NULL};
    CHECK(!st(RP_METH_GET, NULL, 200, vs, NULL, &why));
    CHECK(why && strcmp(why, "vary *") == 0);
    const char *vae[] = {"Cache-Control: max-age=60", "Vary: Accept-Encoding", NULL};
    CHECK(st(RP_METH_GET, NULL, 200, vae, NULL, &why));

    /* NULL why and NULL directive pointers are tolerated */
    struct tmsg tq, tr;
    const struct rp_msg *q = mk(&tq, 0, RP_METH_GET, NULL);
    const struct rp_msg *r = mk(&tr, 200, RP_METH_OTHER, lm);
    CHECK(rp_cache_storable(q, NULL, r, NULL, &rules_default, NULL));
}

/* Lifetime of a response with these lines. */
static int64_t life(int status, const char **lines, const struct rp_cache_rules *rules, int64_t now)
{
    struct tmsg t;
    struct rp_cc cc;
    const struct rp_msg *r = mk(&t, status, RP_METH_OTHER, lines);
    rp_cc_parse(r, false, &cc);
    return rp_cache_freshness_lifetime(r, &cc, rules ? rules : &rules_default, now);
}

#define T_DATE 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */

static void test_lifetime(void)
{
    /* s-maxage beats max-age beats Expires */
    const char *all[] = {"Cache-Control: max-age=60, s-maxage=600",
                         "Date: Sun, 06 Nov 1994 08:49:37 GMT",
                         "Expires: Sun, 06 Nov 1994 09:49:37 GMT", NULL};
    CHECK_INT(life(200, all, NULL, T_DATE), 600);
    const char *ma[] = {"Cache-Control: max-age=60", "Date: Sun, 06 Nov 1994 08:49:37 GMT",
                        "Expires: Sun, 06 Nov 1994 09:49:37 GMT", NULL};
    CHECK_INT(life(200, ma, NULL, T_DATE), 60);
    const char *ex[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT",
                        "Expires: Sun, 06 Nov 1994 09:49:37 GMT", NULL};
    CHECK_INT(life(200, ex, NULL, T_DATE), 3600);
    /* Expires in the obsolete formats */
    const char *ex850[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT",
                           "Expires: Sunday, 06-Nov-94 08:50:37 GMT", NULL};
    CHECK_INT(life(200, ex850, NULL, T_DATE), 60);
    const char *exasc[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT",
                           "Expires: Sun Nov  6 08:49:47 1994", NULL};
    CHECK_INT(life(200, exasc, NULL, T_DATE), 10);
    /* Expires without Date: relative to now */
    const char *exnd[] = {"Expires: Sun, 06 Nov 1994 08:50:37 GMT", NULL};
    CHECK_INT(life(200, exnd, NULL, T_DATE), 60);
    CHECK_INT(life(200, exnd, NULL, T_DATE + 30), 30);
    /* invalid Expires ("0", garbage) and past Expires: already expired */
    const char *ex0[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT", "Expires: 0", NULL};
    CHECK_INT(life(200, ex0, NULL, T_DATE), 0);
    const char *exg[] = {"Expires: tomorrow", "Last-Modified: Sun, 06 Nov 1994 08:00:00 GMT", NULL};
    CHECK_INT(life(200, exg, NULL, T_DATE), 0);
    const char *expast[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT",
                            "Expires: Sat, 05 Nov 1994 08:49:37 GMT", NULL};
    CHECK_INT(life(200, expast, NULL, T_DATE), 0);
    /* max-age=0 and a malformed max-age override a future Expires */
    const char *ma0[] = {"Cache-Control: max-age=bogus", "Date: Sun, 06 Nov 1994 08:49:37 GMT",
                         "Expires: Sun, 06 Nov 1994 09:49:37 GMT", NULL};
    CHECK_INT(life(200, ma0, NULL, T_DATE), 0);
    /* huge max-age saturates */
    const char *big[] = {"Cache-Control: max-age=123456789012345678901234567890", NULL};
    CHECK_INT(life(200, big, NULL, T_DATE), 2147483648LL);
}

static void test_lifetime_heuristic(void)
{
    /* Date - Last-Modified = 10 days: 10 % is one day = 86400 (the default cap) */
    const char *lm10[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT",
                          "Last-Modified: Thu, 27 Oct 1994 08:49:37 GMT", NULL};
    CHECK_INT(life(200, lm10, NULL, T_DATE), 86400);
    /* 1000 s ago: 100 s */
    const char *lm1k[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT",
                          "Last-Modified: Sun, 06 Nov 1994 08:32:57 GMT", NULL};
    CHECK_INT(life(200, lm1k, NULL, T_DATE), 100);
    CHECK_INT(life(404, lm1k, NULL, T_DATE), 100);
    CHECK_INT(life(301, lm1k, NULL, T_DATE), 100);
    /* cap: 100 days ago is 10 days, capped to heuristic_max */
    const char *lm100[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT",
                           "Last-Modified: Fri, 29 Jul 1994 08:49:37 GMT", NULL};
    CHECK_INT(life(200, lm100, NULL, T_DATE), 86400);
    struct rp_cache_rules cap = rules_default;
    cap.heuristic_max = 3600;
    CHECK_INT(life(200, lm1k, &cap, T_DATE), 100);
    CHECK_INT(life(200, lm10, &cap, T_DATE), 3600);
    cap.heuristic_max = 10 * 86400 + 1;
    CHECK_INT(life(200, lm100, &cap, T_DATE), 10 * 86400);
    /* not for statuses that are not heuristically cacheable, unless public */
    CHECK_INT(life(302, lm1k, NULL, T_DATE), 0);
    const char *lmpub[] = {"Cache-Control: public", "Date: Sun, 06 Nov 1994 08:49:37 GMT",
                           "Last-Modified: Sun, 06 Nov 1994 08:32:57 GMT", NULL};
    CHECK_INT(life(302, lmpub, NULL, T_DATE), 100);
    /* heuristic off */
    struct rp_cache_rules off = rules_default;
    off.heuristic = false;
    CHECK_INT(life(200, lm1k, &off, T_DATE), 0);
    /* Last-Modified without Date: against now */
    const char *lmnd[] = {"Last-Modified: Sun, 06 Nov 1994 08:32:57 GMT", NULL};
    CHECK_INT(life(200, lmnd, NULL, T_DATE), 100);
    /* Last-Modified after Date: no heuristic; default_ttl then */
    const char *lmfut[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT",
                           "Last-Modified: Mon, 07 Nov 1994 08:49:37 GMT", NULL};
    CHECK_INT(life(200, lmfut, NULL, T_DATE), 0);
    struct rp_cache_rules ttl = rules_default;
    ttl.default_ttl = 42;
    CHECK_INT(life(200, lmfut, &ttl, T_DATE), 42);
    CHECK_INT(life(200, NULL, &ttl, T_DATE), 42);
    CHECK_INT(life(200, NULL, NULL, T_DATE), 0);
    /* explicit freshness beats the heuristic */
    const char *lmma[] = {"Cache-Control: max-age=7", "Date: Sun, 06 Nov 1994 08:49:37 GMT",
                          "Last-Modified: Sun, 06 Nov 1994 08:32:57 GMT", NULL};
    CHECK_INT(life(200, lmma, NULL, T_DATE), 7);
}

static int64_t age(const char **lines, int64_t req_t, int64_t resp_t, int64_t now)
{
    struct tmsg t;
    return rp_cache_age(mk(&t, 200, RP_METH_OTHER, lines), req_t, resp_t, now);
}

static void test_age(void)
{
    /* Date equal to receipt, no Age, sent 2 s before received, 10 s resident:
     * apparent 0, corrected_age_value 0 + 2, initial 2, current 12 */
    const char *d[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT", NULL};
    CHECK_INT(age(d, T_DATE - 2, T_DATE, T_DATE + 10), 12);
    /* Age: 100 from an upstream cache, 1 s delay, 5 s resident: 101 + 5 */
    const char *a[] = {"Date: Sun, 06 Nov 1994 08:49:37 GMT", "Age: 100", NULL};
    CHECK_INT(age(a, T_DATE - 1, T_DATE, T_DATE + 5), 106);
    /* Date 30 s before receipt (clock skew or a slow path): apparent 30 beats Age 10 + 1 */
    const char *skew[] = {"Date: Sun, 06 Nov 1994 08:49:07 GMT", "Age: 10", NULL};
    CHECK_INT(age(skew, T_DATE - 1, T_DATE, T_DATE), 30);
    /* Date in the future: apparent age clamps to 0 */
    const char *fut[] = {"Date: Sun, 06 Nov 1994 09:49:37 GMT", NULL};
    CHECK_INT(age(fut, T_DATE, T_DATE, T_DATE + 3), 3);
    /* no Date: apparent 0 */
    CHECK_INT(age(NULL, T_DATE - 4, T_DATE, T_DATE + 6), 10);
    /* invalid Age is ignored; a list uses the first member (5.1) */
    const char *bad[] = {"Age: -5", NULL};
    CHECK_INT(age(bad, T_DATE, T_DATE, T_DATE), 0);
    const char *lst[] = {"Age: 7, 9", NULL};
    CHECK_INT(age(lst, T_DATE, T_DATE, T_DATE), 7);
    const char *huge[] = {"Age: 999999999999999999999999", NULL};
    CHECK_INT(age(huge, T_DATE, T_DATE, T_DATE), 2147483648LL);
    /* clocks running backwards do not give negative parts */
    CHECK_INT(age(d, T_DATE + 5, T_DATE, T_DATE - 5), 0);
    /* absurd times do not overflow */
    CHECK(age(d, INT64_MIN, INT64_MAX, INT64_MAX) >= 0);
    CHECK(age(d, INT64_MAX, INT64_MIN, INT64_MAX) >= 0);
}

static enum rp_cache_use use(const char *req, const char *resp, int64_t a, int64_t lifetime)
{
    struct tmsg tq, tr;
    char lq[200], lr[200];
    snprintf(lq, sizeof(lq), "Cache-Control: %s", req ? req : "");
    snprintf(lr, sizeof(lr), "Cache-Control: %s", resp ? resp : "");
    const char *q[] = {lq, NULL}, *r[] = {lr, NULL};
    struct rp_cc qc, rc;
    rp_cc_parse(mk(&tq, 0, RP_METH_GET, req ? q : NULL), true, &qc);
    rp_cc_parse(mk(&tr, 200, RP_METH_OTHER, resp ? r : NULL), false, &rc);
    return rp_cache_usable(&qc, &rc, a, lifetime);
}

static void test_usable(void)
{
    /* plain freshness: fresh while age < lifetime */
    CHECK_INT(use(NULL, NULL, 10, 60), RP_USE_FRESH);
    CHECK_INT(use(NULL, NULL, 59, 60), RP_USE_FRESH);
    CHECK_INT(use(NULL, NULL, 60, 60), RP_USE_REVALIDATE);
    CHECK_INT(use(NULL, NULL, 0, 0), RP_USE_REVALIDATE);
    /* request no-cache and Pragma: no-cache */
    CHECK_INT(use("no-cache", NULL, 1, 60), RP_USE_REVALIDATE);
    {
        struct tmsg t;
        const char *l[] = {"Pragma: no-cache", NULL};
        struct rp_cc qc, rc;
        rp_cc_parse(mk(&t, 0, RP_METH_GET, l), true, &qc);
        rp_cc_parse(mk(&t, 200, RP_METH_OTHER, NULL), false, &rc);
        CHECK_INT(rp_cache_usable(&qc, &rc, 1, 60), RP_USE_REVALIDATE);
    }
    /* response no-cache: bare revalidates, qualified is served (fields stripped by caller) */
    CHECK_INT(use(NULL, "no-cache", 1, 60), RP_USE_REVALIDATE);
    CHECK_INT(use(NULL, "no-cache=\"Set-Cookie\"", 1, 60), RP_USE_FRESH);
    /* request max-age */
    CHECK_INT(use("max-age=30", NULL, 30, 60), RP_USE_FRESH);
    CHECK_INT(use("max-age=30", NULL, 31, 60), RP_USE_REVALIDATE);
    CHECK_INT(use("max-age=0", NULL, 1, 60), RP_USE_REVALIDATE);
    /* min-fresh: lifetime - age must be >= min-fresh */
    CHECK_INT(use("min-fresh=20", NULL, 40, 60), RP_USE_FRESH);
    CHECK_INT(use("min-fresh=20", NULL, 41, 60), RP_USE_REVALIDATE);
    /* max-stale */
    CHECK_INT(use("max-stale=10", NULL, 70, 60), RP_USE_STALE_OK);
    CHECK_INT(use("max-stale=10", NULL, 71, 60), RP_USE_REVALIDATE);
    CHECK_INT(use("max-stale", NULL, 1000000, 60), RP_USE_STALE_OK);
    CHECK_INT(use("max-stale=10", NULL, 30, 60), RP_USE_FRESH);
    /* ... not past must-revalidate, proxy-revalidate or s-maxage */
    CHECK_INT(use("max-stale", "must-revalidate", 70, 60), RP_USE_REVALIDATE);
    CHECK_INT(use("max-stale", "proxy-revalidate", 70, 60), RP_USE_REVALIDATE);
    CHECK_INT(use("max-stale", "s-maxage=60", 70, 60), RP_USE_REVALIDATE);
    CHECK_INT(use(NULL, "must-revalidate", 30, 60), RP_USE_FRESH);
    /* stale-while-revalidate (RFC 5861 3: max-age=600, stale-while-revalidate=30) */
    CHECK_INT(use(NULL, "max-age=600, stale-while-revalidate=30", 620, 600), RP_USE_SWR);
    CHECK_INT(use(NULL, "max-age=600, stale-while-revalidate=30", 630, 600), RP_USE_SWR);
    CHECK_INT(use(NULL, "max-age=600, stale-while-revalidate=30", 631, 600), RP_USE_REVALIDATE);
    CHECK_INT(use(NULL, "max-age=600, stale-while-revalidate=30", 500, 600), RP_USE_FRESH);
    CHECK_INT(use("no-cache", "stale-while-revalidate=30", 620, 600), RP_USE_REVALIDATE);
    CHECK_INT(use(NULL, "must-revalidate, stale-while-revalidate=30", 620, 600), RP_USE_REVALIDATE);
    CHECK_INT(use(NULL, "no-cache, stale-while-revalidate=30", 620, 600), RP_USE_REVALIDATE);
    CHECK_INT(use("max-age=5", "stale-while-revalidate=30", 620, 600), RP_USE_REVALIDATE);
    /* max-stale is checked before SWR: a stale-tolerant client needs no refresh */
    CHECK_INT(use("max-stale=60", "stale-while-revalidate=30", 620, 600), RP_USE_STALE_OK);
    CHECK_INT(use("max-stale=5", "stale-while-revalidate=30", 620, 600), RP_USE_SWR);
    /* only-if-cached: what needs the origin is a miss (504) */
    CHECK_INT(use("only-if-cached", NULL, 70, 60), RP_USE_MISS);
    CHECK_INT(use("only-if-cached", NULL, 10, 60), RP_USE_FRESH);
    CHECK_INT(use("only-if-cached, max-stale", NULL, 70, 60), RP_USE_STALE_OK);
    /* negative inputs are clamped; NULL directives tolerated */
    CHECK_INT(rp_cache_usable(NULL, NULL, -5, 10), RP_USE_FRESH);
    CHECK_INT(rp_cache_usable(NULL, NULL, 5, -10), RP_USE_REVALIDATE);
}

static bool sie(const char *req, const char *resp, int64_t a, int64_t lifetime)
{
    struct tmsg tq, tr;
    char lq[200], lr[200];
    snprintf(lq, sizeof(lq), "Cache-Control: %s", req ? req : "");
    snprintf(lr, sizeof(lr), "Cache-Control: %s", resp ? resp : "");
    const char *q[] = {lq, NULL}, *r[] = {lr, NULL};
    struct rp_cc qc, rc;
    rp_cc_parse(mk(&tq, 0, RP_METH_GET, req ? q : NULL), true, &qc);
    rp_cc_parse(mk(&tr, 200, RP_METH_OTHER, resp ? r : NULL), false, &rc);
    return rp_cache_stale_if_error(&qc, &rc, a, lifetime);
}

static void test_stale_if_error(void)
{
    /* RFC 5861 4: max-age=600, stale-if-error=1200 */
    CHECK(sie(NULL, "max-age=600, stale-if-error=1200", 1800, 600));
    CHECK(!sie(NULL, "max-age=600, stale-if-error=1200", 1801, 600));
    CHECK(!sie(NULL, NULL, 700, 600));
    CHECK(sie(NULL, NULL, 500, 600)); /* fresh anyway */
    /* request directive */
    CHECK(sie("stale-if-error=100", NULL, 700, 600));
    CHECK(!sie("stale-if-error=99", NULL, 700, 600));
    /* either side suffices */
    CHECK(sie("stale-if-error=10", "stale-if-error=100", 700, 600));
    CHECK(sie("stale-if-error=100", "stale-if-error=10", 700, 600));
    /* a client cannot override the origin's must-revalidate; the origin's own permission
     * beside it stands */
    CHECK(!sie("stale-if-error=100", "must-revalidate", 700, 600));
    CHECK(!sie("stale-if-error=100", "s-maxage=600", 700, 600));
    CHECK(sie(NULL, "must-revalidate, stale-if-error=100", 700, 600));
    CHECK(rp_cache_stale_if_error(NULL, NULL, 1, 2));
    CHECK(!rp_cache_stale_if_error(NULL, NULL, 2, 1));
}

int main(void)
{
    RUN(test_parse_empty);
    RUN(test_parse_every_directive);
    RUN(test_parse_case_and_space);
    RUN(test_parse_quoted);
    RUN(test_parse_field_lists);
    RUN(test_parse_multiple_fields);
    RUN(test_parse_duplicates);
    RUN(test_parse_bad_values);
    RUN(test_parse_pragma);
    RUN(test_storable);
    RUN(test_lifetime);
    RUN(test_lifetime_heuristic);
    RUN(test_age);
    RUN(test_usable);
    RUN(test_stale_if_error);
    TEST_MAIN_END();
}
