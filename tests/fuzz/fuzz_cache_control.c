/* libFuzzer harness for Cache-Control parsing: the input is one Cache-Control field value of a
 * message, parsed as a request and as a response. Checks that every delta value is absent or
 * in 0..2^31 (max-stale may also be unbounded), that field-list slices lie inside the input,
 * and that the rules built on the result run without trouble. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_control.h"

static void check_delta(int64_t v, bool may_be_unbounded)
{
    if (v == RP_CC_ABSENT || (may_be_unbounded && v == RP_CC_UNBOUNDED))
        return;
    if (v < 0 || v > 2147483648LL)
        abort();
}

static void check_slice(struct rp_slice s, struct rp_slice in)
{
    if (s.p == NULL) {
        if (s.n != 0)
            abort();
        return;
    }
    if (s.p < in.p || s.n > in.n || s.p + s.n > in.p + in.n)
        abort();
}

static void check(const struct rp_cc *cc, struct rp_slice in)
{
    if (!cc->present)
        abort();
    check_delta(cc->max_age, false);
    check_delta(cc->s_maxage, false);
    check_delta(cc->max_stale, true);
    check_delta(cc->min_fresh, false);
    check_delta(cc->stale_while_revalidate, false);
    check_delta(cc->stale_if_error, false);
    check_slice(cc->no_cache_fields, in);
    check_slice(cc->private_fields, in);
    if (cc->no_cache_fields.p != NULL && !cc->no_cache)
        abort();
    if (cc->private_fields.p != NULL && !cc->private_)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so ASan catches any read past the value */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    struct rp_slice in = {buf, size};
    struct rp_header h = {.name = RP_SLICE_LIT("Cache-Control"), .value = in};
    struct rp_msg m = {.hdrs = &h, .nhdrs = 1, .cap_hdrs = 1, .meth = RP_METH_GET, .status = 200};

    struct rp_cc req, resp;
    rp_cc_parse(&m, true, &req);
    check(&req, in);
    rp_cc_parse(&m, false, &resp);
    check(&resp, in);

    struct rp_cache_rules rules = {.heuristic = true, .heuristic_max = 86400, .default_ttl = 0};
    const char *why = NULL;
    if (!rp_cache_storable(&m, &req, &m, &resp, &rules, &why) && why == NULL)
        abort();
    int64_t life = rp_cache_freshness_lifetime(&m, &resp, &rules, 1000000);
    if (life < 0)
        abort();
    int64_t ages[] = {0, 1, life, life + 1, 2147483648LL * 3};
    for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
        enum rp_cache_use u = rp_cache_usable(&req, &resp, ages[i], life);
        if (u < RP_USE_FRESH || u > RP_USE_MISS)
            abort();
        if (u == RP_USE_FRESH && ages[i] >= life)
            abort(); /* stale is never fresh */
        (void)rp_cache_stale_if_error(&req, &resp, ages[i], life);
    }
    free(buf);
    return 0;
}
