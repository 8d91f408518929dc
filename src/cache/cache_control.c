/* RFC 9111 / RFC 5861 rules for a shared cache: Cache-Control parsing, storability, freshness
 * lifetime, current age and whether a stored response may answer a request. Pure functions
 * over rp_msg heads; every value read here is untrusted and parsed defensively. */
#include "cache/cache_control.h"

#include "handler/static_file.h" /* rp_http_date_parse */

#define DELTA_MAX ((int64_t)2147483648) /* 2^31: where delta-seconds saturate (RFC 9111 1.2.2) */
#define DELTA_BAD (-2)                  /* a delta-seconds argument that is malformed */

/* tchar of RFC 9110 5.6.2 (own copy: http/ctype.h is internal to src/http). */
static bool is_tchar(char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* delta-seconds: 1*DIGIT, saturating at 2^31 rather than failing on overflow. */
static int64_t parse_delta(struct rp_slice s)
{
    if (s.n == 0)
        return DELTA_BAD;
    int64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return DELTA_BAD;
        if (v < DELTA_MAX)
            v = v * 10 + (s.p[i] - '0');
    }
    return v > DELTA_MAX ? DELTA_MAX : v;
}

/* Parse-time bookkeeping that does not belong in struct rp_cc. */
struct ccstate {
    struct rp_cc *cc;
    bool is_request;
    bool nc_unqualified, priv_unqualified; /* the bare form was seen (or a malformed list) */
    unsigned nc_lists, priv_lists;         /* qualified lists seen */
};

/* Fold one more occurrence v of a delta directive into *slot. A response's conflicting
 * max-age/s-maxage makes it stale (4.2.1: treat invalid freshness information as stale);
 * elsewhere the most restrictive value wins (smaller, or larger when larger_wins). */
static void fold_delta(int64_t *slot, int64_t v, bool stale_on_conflict, bool larger_wins)
{
    if (*slot == RP_CC_ABSENT)
        *slot = v;
    else if (*slot != v) {
        if (stale_on_conflict)
            *slot = 0;
        else if (larger_wins ? v > *slot : v < *slot)
            *slot = v;
    }
}

static void apply(struct ccstate *st, struct rp_slice name, bool has_arg, struct rp_slice arg,
                  bool bad)
{
    struct rp_cc *cc = st->cc;
    int64_t d = (has_arg && !bad) ? parse_delta(arg) : DELTA_BAD;

    if (rp_slice_case_eq_cstr(name, "max-age") || rp_slice_case_eq_cstr(name, "s-maxage")) {
        int64_t *slot = (name.n == 7) ? &cc->max_age : &cc->s_maxage;
        if (d == DELTA_BAD) {
            /* A response with unusable freshness information is stale; a request directive
             * we cannot read is ignored. */
            if (!st->is_request)
                fold_delta(slot, 0, true, false);
            return;
        }
        fold_delta(slot, d, !st->is_request, false);
    } else if (rp_slice_case_eq_cstr(name, "max-stale")) {
        if (!has_arg)
            d = RP_CC_UNBOUNDED;
        if (d != DELTA_BAD)
            fold_delta(&cc->max_stale, d, false, false);
    } else if (rp_slice_case_eq_cstr(name, "min-fresh")) {
        if (d != DELTA_BAD)
            fold_delta(&cc->min_fresh, d, false, true);
    } else if (rp_slice_case_eq_cstr(name, "stale-while-revalidate")) {
        if (d != DELTA_BAD)
            fold_delta(&cc->stale_while_revalidate, d, false, false);
    } else if (rp_slice_case_eq_cstr(name, "stale-if-error")) {
        if (d != DELTA_BAD)
            fold_delta(&cc->stale_if_error, d, false, false);
    } else if (rp_slice_case_eq_cstr(name, "no-cache")) {
        cc->no_cache = true;
        if (has_arg && !bad) {
            st->nc_lists++;
            cc->no_cache_fields = arg;
        } else {
            st->nc_unqualified = true; /* bare, or a list we could not read: the whole */
        }
    } else if (rp_slice_case_eq_cstr(name, "private")) {
        cc->private_ = true;
        if (has_arg && !bad) {
            st->priv_lists++;
            cc->private_fields = arg;
        } else {
            st->priv_unqualified = true;
        }
    } else if (rp_slice_case_eq_cstr(name, "no-store")) {
        cc->no_store = true;
    } else if (rp_slice_case_eq_cstr(name, "no-transform")) {
        cc->no_transform = true;
    } else if (rp_slice_case_eq_cstr(name, "only-if-cached")) {
        cc->only_if_cached = true;
    } else if (rp_slice_case_eq_cstr(name, "must-revalidate")) {
        cc->must_revalidate = true;
    } else if (rp_slice_case_eq_cstr(name, "proxy-revalidate")) {
        cc->proxy_revalidate = true;
    } else if (bad) {
        /* Past this point the directives permit more than their absence: a malformed one
         * is not trusted (the restrictive ones above are honoured however written). */
        return;
    } else if (rp_slice_case_eq_cstr(name, "public")) {
        cc->public_ = true;
    } else if (rp_slice_case_eq_cstr(name, "immutable")) {
        cc->immutable = true;
    } else if (rp_slice_case_eq_cstr(name, "must-understand")) {
        cc->must_understand = true;
    }
    /* anything else is an extension we do not know: ignored (5.2.3) */
}

/* One Cache-Control field value: #( token [ "=" ( token / quoted-string ) ] ). Lenient about
 * whitespace around '='; a directive followed by junk before the next comma is malformed. */
static void parse_value(struct ccstate *st, struct rp_slice v)
{
    size_t i = 0;
    while (i < v.n) {
        while (i < v.n && (is_ows(v.p[i]) || v.p[i] == ','))
            i++;
        if (i >= v.n)
            break;
        size_t ns = i;
        while (i < v.n && is_tchar(v.p[i]))
            i++;
        struct rp_slice name = {v.p + ns, i - ns};
        struct rp_slice arg = RP_SLICE_NULL;
        bool has_arg = false, bad = false;
        while (i < v.n && is_ows(v.p[i]))
            i++;
        if (i < v.n && v.p[i] == '=') {
            has_arg = true;
            i++;
            while (i < v.n && is_ows(v.p[i]))
                i++;
            if (i < v.n && v.p[i] == '"') {
                size_t as = ++i;
                while (i < v.n && v.p[i] != '"')
                    i += (v.p[i] == '\\' && i + 1 < v.n) ? 2 : 1;
                if (i >= v.n) {
                    bad = true; /* unterminated: the rest of the field is swallowed */
                    i = v.n;
                } else {
                    arg = (struct rp_slice){v.p + as, i - as};
                    i++;
                }
            } else {
                size_t as = i;
                while (i < v.n && is_tchar(v.p[i]))
                    i++;
                arg = (struct rp_slice){v.p + as, i - as};
            }
            while (i < v.n && is_ows(v.p[i]))
                i++;
        }
        if (i < v.n && v.p[i] != ',') {
            bad = true;
            while (i < v.n && v.p[i] != ',')
                i++;
        }
        if (name.n > 0)
            apply(st, name, has_arg, arg, bad);
    }
}

void rp_cc_parse(const struct rp_msg *m, bool is_request, struct rp_cc *out)
{
    memset(out, 0, sizeof(*out));
    out->max_age = out->s_maxage = out->max_stale = out->min_fresh = RP_CC_ABSENT;
    out->stale_while_revalidate = out->stale_if_error = RP_CC_ABSENT;
    out->no_cache_fields = out->private_fields = RP_SLICE_NULL;
    struct ccstate st = {.cc = out, .is_request = is_request};

    for (uint32_t i = 0; i < m->nhdrs; i++) {
        if (!rp_slice_case_eq_cstr(m->hdrs[i].name, "cache-control"))
            continue;
        out->present = true;
        if (m->hdrs[i].value.p != NULL)
            parse_value(&st, m->hdrs[i].value);
    }
    /* A list applies only when it is the sole form given; a bare no-cache/private, or two
     * lists we cannot merge into one slice, fall back to the whole response (safer). */
    if (st.nc_unqualified || st.nc_lists > 1)
        out->no_cache_fields = RP_SLICE_NULL;
    if (st.priv_unqualified || st.priv_lists > 1)
        out->private_fields = RP_SLICE_NULL;

    /* RFC 9111 5.4: Pragma: no-cache counts as no-cache only without Cache-Control. */
    if (is_request && !out->present &&
        rp_msg_has_token(m, RP_SLICE_LIT("pragma"), RP_SLICE_LIT("no-cache")))
        out->no_cache = true;
}

/* The statuses RFC 9110 15.1 makes heuristically cacheable. */
static bool heuristic_status(int status)
{
    switch (status) {
    case 200:
    case 203:
    case 204:
    case 206:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
        return true;
    default:
        return false;
    }
}

/* Final statuses whose caching semantics we implement. 206 is left out: the store keeps
 * complete responses only and serves ranges from them (3.3, 3.4); 304 only updates a stored
 * response; 401/407 belong to authentication exchanges. */
static bool understood_status(int status)
{
    switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 302:
    case 303:
    case 307:
    case 308:
    case 400:
    case 403:
    case 404:
    case 405:
    case 410:
    case 414:
    case 500:
    case 501:
    case 502:
    case 503:
    case 504:
        return true;
    default:
        return false;
    }
}

static const struct rp_header *find(const struct rp_msg *m, const char *name)
{
    return rp_msg_find(m, rp_slice_cstr(name));
}

/* Parse the first field called name as an HTTP-date; false when missing or invalid. */
static bool header_date(const struct rp_msg *m, const char *name, int64_t *t)
{
    const struct rp_header *h = find(m, name);
    return h != NULL && h->value.p != NULL && rp_http_date_parse(h->value, t) == 0;
}

bool rp_cache_storable(const struct rp_msg *req, const struct rp_cc *req_cc,
                       const struct rp_msg *resp, const struct rp_cc *resp_cc,
                       const struct rp_cache_rules *rules, const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    *why = NULL;
    struct rp_cc none;
    if (req_cc == NULL || resp_cc == NULL) {
        struct rp_msg empty = {0};
        rp_cc_parse(&empty, false, &none);
        req_cc = req_cc ? req_cc : &none;
        resp_cc = resp_cc ? resp_cc : &none;
    }

    /* HEAD answers are not stored: a HEAD is served from the stored GET response, and a
     * bodiless HEAD object would poison the key for GETs. */
    if (req->meth != RP_METH_GET) {
        *why = "method";
        return false;
    }
    if (resp->status < 200 || !understood_status(resp->status)) {
        *why = "status";
        return false;
    }
    if (req_cc->no_store) {
        *why = "request no-store";
        return false;
    }
    /* must-understand: a cache that implements the status's semantics ignores no-store
     * (5.2.2.3); the status is known to be understood at this point. */
    if (resp_cc->no_store && !resp_cc->must_understand) {
        *why = "no-store";
        return false;
    }
    if (resp_cc->private_ && resp_cc->private_fields.p == NULL) {
        *why = "private";
        return false;
    }
    if (find(req, "authorization") != NULL && !resp_cc->public_ && !resp_cc->must_revalidate &&
        resp_cc->s_maxage == RP_CC_ABSENT) {
        *why = "authorization";
        return false;
    }
    if ((rules == NULL || !rules->store_set_cookie) && find(resp, "set-cookie") != NULL) {
        *why = "set-cookie";
        return false;
    }
    if (rp_msg_has_token(resp, RP_SLICE_LIT("vary"), RP_SLICE_LIT("*"))) {
        *why = "vary *";
        return false;
    }
    bool explicit_fresh = resp_cc->max_age != RP_CC_ABSENT || resp_cc->s_maxage != RP_CC_ABSENT ||
                          find(resp, "expires") != NULL;
    bool implicit =
        heuristic_status(resp->status) && rules != NULL &&
        ((rules->heuristic && find(resp, "last-modified") != NULL) || rules->default_ttl > 0);
    if (!explicit_fresh && !resp_cc->public_ && !implicit) {
        *why = "no freshness";
        return false;
    }
    return true;
}

/* a - b, clamped to 0..INT64_MAX/4 so garbage times cannot overflow later sums. */
static int64_t diff_nonneg(int64_t a, int64_t b)
{
    if (a <= b)
        return 0;
    if (b < 0 && a > INT64_MAX + b)
        return INT64_MAX / 4;
    int64_t d = a - b;
    return d > INT64_MAX / 4 ? INT64_MAX / 4 : d;
}

int64_t rp_cache_freshness_lifetime(const struct rp_msg *resp, const struct rp_cc *resp_cc,
                                    const struct rp_cache_rules *rules, int64_t now)
{
    /* 4.2.1, shared cache: s-maxage overrides max-age, which overrides Expires. */
    if (resp_cc != NULL && resp_cc->s_maxage != RP_CC_ABSENT)
        return resp_cc->s_maxage;
    if (resp_cc != NULL && resp_cc->max_age != RP_CC_ABSENT)
        return resp_cc->max_age;

    int64_t date;
    if (!header_date(resp, "date", &date))
        date = now; /* RFC 9110 6.6.1: a missing Date is the time of receipt */

    const struct rp_header *exp = find(resp, "expires");
    if (exp != NULL) {
        int64_t e;
        /* An invalid Expires ("0", "-1") means already expired (RFC 9111 5.3). */
        if (exp->value.p == NULL || rp_http_date_parse(exp->value, &e) != 0 || e <= date)
            return 0;
        return e - date;
    }

    if (rules == NULL)
        return 0;
    bool may_guess = heuristic_status(resp->status) || (resp_cc != NULL && resp_cc->public_);
    int64_t lm;
    if (rules->heuristic && may_guess && header_date(resp, "last-modified", &lm) && lm <= date) {
        /* 4.2.2: the typical heuristic, 10 % of the time since the last change. */
        int64_t h = diff_nonneg(date, lm) / 10;
        if (rules->heuristic_max >= 0 && h > rules->heuristic_max)
            h = rules->heuristic_max;
        return h;
    }
    return rules->default_ttl > 0 ? rules->default_ttl : 0;
}

/* The Age field: the first member of the value, delta-seconds; invalid means ignore (5.1). */
static int64_t age_value(const struct rp_msg *resp)
{
    const struct rp_header *h = find(resp, "age");
    if (h == NULL || h->value.p == NULL)
        return 0;
    const char *c = memchr(h->value.p, ',', h->value.n);
    struct rp_slice v = {h->value.p, c ? (size_t)(c - h->value.p) : h->value.n};
    int64_t a = parse_delta(rp_slice_trim_ows(v));
    return a < 0 ? 0 : a;
}

int64_t rp_cache_age(const struct rp_msg *resp, int64_t request_time, int64_t response_time,
                     int64_t now)
{
    int64_t date;
    if (!header_date(resp, "date", &date))
        date = response_time;
    int64_t apparent_age = diff_nonneg(response_time, date);
    int64_t response_delay = diff_nonneg(response_time, request_time);
    int64_t corrected_age_value = age_value(resp) + response_delay;
    int64_t corrected_initial_age =
        apparent_age > corrected_age_value ? apparent_age : corrected_age_value;
    int64_t resident_time = diff_nonneg(now, response_time);
    return corrected_initial_age + resident_time;
}

enum rp_cache_use rp_cache_usable(const struct rp_cc *req_cc, const struct rp_cc *resp_cc,
                                  int64_t age, int64_t lifetime)
{
    struct rp_cc none;
    if (req_cc == NULL || resp_cc == NULL) {
        struct rp_msg empty = {0};
        rp_cc_parse(&empty, false, &none);
        req_cc = req_cc ? req_cc : &none;
        resp_cc = resp_cc ? resp_cc : &none;
    }
    if (age < 0)
        age = 0;
    if (lifetime < 0)
        lifetime = 0;
    bool fresh = lifetime > age;
    int64_t staleness = fresh ? 0 : age - lifetime;
    /* 5.2.2.2, 5.2.2.8, 5.2.2.10: for a shared cache these forbid serving stale. */
    bool no_stale =
        resp_cc->must_revalidate || resp_cc->proxy_revalidate || resp_cc->s_maxage != RP_CC_ABSENT;
    enum rp_cache_use use;

    if (req_cc->no_cache) /* 5.2.1.4 (a request's no-cache has no field list) */
        use = RP_USE_REVALIDATE;
    else if (resp_cc->no_cache && resp_cc->no_cache_fields.p == NULL) /* 5.2.2.4 */
        use = RP_USE_REVALIDATE;
    else if (req_cc->max_age != RP_CC_ABSENT && age > req_cc->max_age) /* 5.2.1.1 */
        use = RP_USE_REVALIDATE;
    else if (req_cc->min_fresh != RP_CC_ABSENT && lifetime - age < req_cc->min_fresh) /* 5.2.1.3 */
        use = RP_USE_REVALIDATE;
    else if (fresh)
        use = RP_USE_FRESH;
    else if (no_stale)
        use = RP_USE_REVALIDATE;
    else if (req_cc->max_stale != RP_CC_ABSENT && staleness <= req_cc->max_stale) /* 5.2.1.2 */
        use = RP_USE_STALE_OK;
    else if (resp_cc->stale_while_revalidate != RP_CC_ABSENT &&
             staleness <= resp_cc->stale_while_revalidate) /* RFC 5861 3 */
        use = RP_USE_SWR;
    else
        use = RP_USE_REVALIDATE;

    /* only-if-cached (5.2.1.7): whatever needs the origin is a miss, answered 504. */
    if (use == RP_USE_REVALIDATE && req_cc->only_if_cached)
        use = RP_USE_MISS;
    return use;
}

bool rp_cache_stale_if_error(const struct rp_cc *req_cc, const struct rp_cc *resp_cc, int64_t age,
                             int64_t lifetime)
{
    if (age < 0)
        age = 0;
    if (lifetime < 0)
        lifetime = 0;
    if (lifetime > age)
        return true; /* not stale at all */
    int64_t staleness = age - lifetime;
    /* The origin's own stale-if-error is its explicit permission, even beside
     * must-revalidate; a client's cannot override the origin's must-revalidate. */
    if (resp_cc != NULL && resp_cc->stale_if_error != RP_CC_ABSENT &&
        staleness <= resp_cc->stale_if_error)
        return true;
    bool no_stale = resp_cc != NULL && (resp_cc->must_revalidate || resp_cc->proxy_revalidate ||
                                        resp_cc->s_maxage != RP_CC_ABSENT);
    return req_cc != NULL && !no_stale && req_cc->stale_if_error != RP_CC_ABSENT &&
           staleness <= req_cc->stale_if_error;
}
