/* Unit tests of the load-balancing algorithms (src/lb/): shares against weights, candidates
 * only, load and latency awareness, fair ties, hashing stability and bounded loads, on
 * upstreams built by hand with runtime state whose loads the tests set. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "lb/balancer.h"
#include "lb/server_state.h"
#include "test.h"

#define MAXS 16

struct fix {
    struct rp_upstream_conf u;
    struct rp_server_conf srv[MAXS];
    uint32_t w[MAXS]; /* effective weights (thousandths) passed to the picks */
    uint64_t rng;
};

/* n servers "10.0.0.<id>:80" with configured weights cw (NULL: all 1), all candidates. */
static void fix_init(struct fix *f, uint32_t n, const uint32_t *cw, const uint32_t *ids)
{
    memset(f, 0, sizeof(*f));
    f->u.name = "app";
    f->u.servers = f->srv;
    f->u.nservers = n;
    f->rng = 0x1234567;
    for (uint32_t i = 0; i < n; i++) {
        struct rp_server_conf *s = &f->srv[i];
        snprintf(s->addr.text, sizeof(s->addr.text), "10.0.0.%u:80", ids ? ids[i] : i);
        s->weight = cw ? cw[i] : 1;
        s->rt = calloc(1, sizeof(*s->rt));
        f->w[i] = s->weight * 1000;
    }
}

static void fix_free(struct fix *f)
{
    for (uint32_t i = 0; i < f->u.nservers; i++)
        free(f->srv[i].rt);
}

static void set_load(struct fix *f, uint32_t i, unsigned inflight, uint64_t ewma_ns)
{
    atomic_store(&f->srv[i].rt->inflight, inflight);
    atomic_store(&f->srv[i].rt->ewma_ns, ewma_ns);
}

static void *st_new(const struct rp_balancer *b, const struct fix *f)
{
    bool ok = true;
    void *st = b->state_new ? b->state_new(&f->u, &ok) : NULL;
    CHECK(ok);
    return st;
}

static void st_free(const struct rp_balancer *b, void *st)
{
    if (st && b->state_free)
        b->state_free(st);
}

static uint64_t key_of(uint32_t k)
{
    return rp_hash64(&k, sizeof(k));
}

static uint32_t pick(const struct rp_balancer *b, void *st, struct fix *f, uint64_t key,
                     bool has_key)
{
    uint32_t ncand = 0;
    for (uint32_t i = 0; i < f->u.nservers; i++)
        ncand += f->w[i] > 0;
    struct rp_lb_pick p = {.u = &f->u,
                           .weight = f->w,
                           .ncand = ncand,
                           .key_hash = key,
                           .has_key = has_key,
                           .rng = &f->rng,
                           .now_us = 1000000};
    return b->pick(st, &p);
}

/* Every count within tol picks of total * weight share. */
static void check_shares(const struct fix *f, const uint32_t *count, uint32_t total, double tol)
{
    uint64_t wsum = 0;
    for (uint32_t i = 0; i < f->u.nservers; i++)
        wsum += f->w[i];
    for (uint32_t i = 0; i < f->u.nservers; i++) {
        double want = (double)total * f->w[i] / (double)wsum;
        if (fabs(count[i] - want) > tol * total)
            fprintf(stderr, "  server %u: %u picks, expected %.0f\n", i, count[i], want);
        CHECK(fabs(count[i] - want) <= tol * total);
    }
}

static void test_registry(void)
{
    const char *names[] = {"round_robin", "random", "least_conn", "p2c", "ip_hash", "hash"};
    for (size_t i = 0; i < 6; i++) {
        const struct rp_balancer *b = rp_balancer_find(names[i]);
        CHECK(b != NULL);
        CHECK(b && !strcmp(b->name, names[i]) && b->help && b->pick);
        CHECK(strstr(rp_balancer_names(), names[i]) != NULL);
    }
    CHECK(rp_balancer_find("fastest") == NULL);
}

/* Smooth weighted round robin: the exact interleaving and exact shares over full cycles. */
static void test_round_robin(void)
{
    struct fix f;
    fix_init(&f, 2, (uint32_t[]){3, 1}, NULL);
    void *st = st_new(&rp_lb_round_robin, &f);
    char seq[9] = "";
    for (int i = 0; i < 8; i++)
        seq[i] = (char)('a' + pick(&rp_lb_round_robin, st, &f, 0, false));
    CHECK_MEM(seq, 8, "aabaaaba"); /* the 4-cycle a a b a: b never two apart from itself */
    st_free(&rp_lb_round_robin, st);
    fix_free(&f);

    fix_init(&f, 3, (uint32_t[]){5, 1, 1}, NULL);
    st = st_new(&rp_lb_round_robin, &f);
    for (int i = 0; i < 7; i++)
        seq[i] = (char)('a' + pick(&rp_lb_round_robin, st, &f, 0, false));
    CHECK_MEM(seq, 7, "aabacaa"); /* spread, not a a a a a b c */
    uint32_t count[MAXS] = {0};
    for (int i = 0; i < 7000; i++)
        count[pick(&rp_lb_round_robin, st, &f, 0, false)]++;
    CHECK_INT(count[0], 5000);
    CHECK_INT(count[1], 1000);
    CHECK_INT(count[2], 1000);
    st_free(&rp_lb_round_robin, st);
    fix_free(&f);
}

static void test_random_shares(void)
{
    struct fix f;
    fix_init(&f, 5, (uint32_t[]){1, 2, 3, 4, 5}, NULL);
    f.w[4] = 0; /* not a candidate */
    uint32_t count[MAXS] = {0};
    for (int i = 0; i < 100000; i++)
        count[pick(&rp_lb_random, NULL, &f, 0, false)]++;
    check_shares(&f, count, 100000, 0.02);
    CHECK_INT(count[4], 0);
    fix_free(&f);
}

/* Whatever the loads and keys, every balancer picks a candidate, and the only one if so. */
static void test_candidates_only(void)
{
    const struct rp_balancer *all[] = {&rp_lb_round_robin, &rp_lb_random,  &rp_lb_least_conn,
                                       &rp_lb_p2c,         &rp_lb_ip_hash, &rp_lb_hash};
    for (size_t b = 0; b < 6; b++) {
        struct fix f;
        fix_init(&f, 10, (uint32_t[]){1, 2, 3, 1, 2, 3, 1, 2, 3, 1}, NULL);
        f.u.hash_balance = 125;
        for (uint32_t i = 0; i < 10; i++) {
            set_load(&f, i, i * 3 % 7, i % 3 ? i * 100000 : 0);
            if (i % 3 == 1)
                f.w[i] = 0;
        }
        void *st = st_new(all[b], &f);
        int bad = 0;
        for (uint32_t k = 0; k < 20000; k++) {
            uint32_t i = pick(all[b], st, &f, key_of(k), k % 5 != 0);
            bad += i >= 10 || !f.w[i];
        }
        CHECK_INT(bad, 0);
        for (uint32_t i = 0; i < 10; i++)
            f.w[i] = i == 7 ? 500 : 0; /* one candidate, in slow start */
        for (uint32_t k = 0; k < 1000; k++)
            bad += pick(all[b], st, &f, key_of(k), true) != 7;
        CHECK_INT(bad, 0);
        if (bad)
            fprintf(stderr, "  balancer %s\n", all[b]->name);
        st_free(all[b], st);
        fix_free(&f);
    }
}

static void test_least_conn(void)
{
    const struct rp_balancer *b = &rp_lb_least_conn;
    struct fix f;
    /* busy servers are left alone; the idle ones alternate */
    fix_init(&f, 4, NULL, NULL);
    set_load(&f, 0, 5, 0);
    set_load(&f, 2, 5, 0);
    void *st = st_new(b, &f);
    uint32_t count[MAXS] = {0};
    for (int i = 0; i < 1000; i++)
        count[pick(b, st, &f, 0, false)]++;
    CHECK_INT(count[0], 0);
    CHECK_INT(count[1], 500);
    CHECK_INT(count[2], 0);
    CHECK_INT(count[3], 500);
    /* all tied: exactly even */
    set_load(&f, 0, 0, 0);
    set_load(&f, 2, 0, 0);
    memset(count, 0, sizeof(count));
    for (int i = 0; i < 1000; i++)
        count[pick(b, st, &f, 0, false)]++;
    for (int i = 0; i < 4; i++)
        CHECK_INT(count[i], 250);
    st_free(b, st);
    fix_free(&f);

    /* ties keep the weights' proportions; loads compare relative to weight */
    fix_init(&f, 2, (uint32_t[]){2, 1}, NULL);
    st = st_new(b, &f);
    memset(count, 0, sizeof(count));
    for (int i = 0; i < 3000; i++)
        count[pick(b, st, &f, 0, false)]++;
    CHECK_INT(count[0], 2000);
    CHECK_INT(count[1], 1000);
    set_load(&f, 0, 3, 0); /* 3/2 > 1/1 */
    set_load(&f, 1, 1, 0);
    CHECK_INT(pick(b, st, &f, 0, false), 1);
    set_load(&f, 0, 1, 0); /* 1/2 < 1/1 */
    CHECK_INT(pick(b, st, &f, 0, false), 0);
    st_free(b, st);
    fix_free(&f);

    /* requests that never end pile up evenly */
    fix_init(&f, 5, NULL, NULL);
    st = st_new(b, &f);
    for (int i = 0; i < 1003; i++)
        atomic_fetch_add(&f.srv[pick(b, st, &f, 0, false)].rt->inflight, 1);
    for (int i = 0; i < 5; i++) {
        unsigned in = atomic_load(&f.srv[i].rt->inflight);
        CHECK(in == 200 || in == 201);
    }
    st_free(b, st);
    fix_free(&f);
}

static void test_p2c(void)
{
    const struct rp_balancer *b = &rp_lb_p2c;
    struct fix f;
    uint32_t count[MAXS] = {0};
    /* no latency or load: the shares of weighted random */
    fix_init(&f, 4, NULL, NULL);
    for (int i = 0; i < 100000; i++)
        count[pick(b, NULL, &f, 0, false)]++;
    check_shares(&f, count, 100000, 0.02);
    /* one server 10x slower */
    for (uint32_t i = 0; i < 4; i++)
        set_load(&f, i, 0, i == 0 ? 10000000 : 1000000);
    memset(count, 0, sizeof(count));
    for (int i = 0; i < 100000; i++)
        count[pick(b, NULL, &f, 0, false)]++;
    CHECK(count[0] < 15000);
    /* one server busy, no latency samples anywhere */
    for (uint32_t i = 0; i < 4; i++)
        set_load(&f, i, i == 2 ? 10 : 0, 0);
    memset(count, 0, sizeof(count));
    for (int i = 0; i < 100000; i++)
        count[pick(b, NULL, &f, 0, false)]++;
    CHECK(count[2] < 5000);
    /* a server without samples is costed with its rival's latency: load decides */
    set_load(&f, 0, 0, 0);
    set_load(&f, 1, 1, 5000000);
    set_load(&f, 2, 1, 5000000);
    set_load(&f, 3, 1, 5000000);
    memset(count, 0, sizeof(count));
    for (int i = 0; i < 10000; i++)
        count[pick(b, NULL, &f, 0, false)]++;
    CHECK(count[0] > 4000 && count[0] < 6000); /* chosen whenever drawn: 1 - (3/4 * 2/3) */
    fix_free(&f);

    /* weights count in the cost: with requests that never end, in-flight settles near 3:1,
     * with two servers too (both always drawn) */
    fix_init(&f, 2, (uint32_t[]){3, 1}, NULL);
    for (int i = 0; i < 4000; i++)
        atomic_fetch_add(&f.srv[pick(b, NULL, &f, 0, false)].rt->inflight, 1);
    unsigned heavy = atomic_load(&f.srv[0].rt->inflight);
    CHECK(heavy >= 2990 && heavy <= 3010);
    fix_free(&f);

    /* requests that never end: p2c keeps the maximum close to the mean */
    fix_init(&f, 10, NULL, NULL);
    for (int i = 0; i < 10000; i++)
        atomic_fetch_add(&f.srv[pick(b, NULL, &f, 0, false)].rt->inflight, 1);
    for (int i = 0; i < 10; i++) {
        unsigned in = atomic_load(&f.srv[i].rt->inflight);
        CHECK(in >= 990 && in <= 1010);
    }
    fix_free(&f);
}

static void test_ip_hash(void)
{
    const struct rp_balancer *b = &rp_lb_ip_hash;
    struct fix f;
    fix_init(&f, 10, (uint32_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1, 3}, NULL);
    void *st = st_new(b, &f), *st2 = st_new(b, &f);
    enum { NK = 100000 };
    static uint32_t map[NK];
    uint32_t count[MAXS] = {0};
    int unstable = 0;
    for (uint32_t k = 0; k < NK; k++) {
        map[k] = pick(b, st, &f, key_of(k), true);
        count[map[k]]++;
        /* the same key, again and in another worker */
        unstable += pick(b, st, &f, key_of(k), true) != map[k];
        unstable += pick(b, st2, &f, key_of(k), true) != map[k];
    }
    CHECK_INT(unstable, 0);
    check_shares(&f, count, NK, 0.02);
    /* server 4 unavailable: only its keys move, and each to a fixed stand-in */
    f.w[4] = 0;
    int moved_other = 0, stayed = 0, unsteady = 0;
    memset(count, 0, sizeof(count));
    for (uint32_t k = 0; k < NK; k++) {
        uint32_t i = pick(b, st, &f, key_of(k), true);
        if (map[k] != 4)
            moved_other += i != map[k];
        else
            count[i]++;
        stayed += i == 4;
        unsteady += pick(b, st2, &f, key_of(k), true) != i;
    }
    CHECK_INT(moved_other, 0);
    CHECK_INT(stayed, 0);
    CHECK_INT(unsteady, 0);
    CHECK(count[9] > count[0]); /* its keys spread by weight too */
    /* and come back when it does */
    f.w[4] = 1000;
    unstable = 0;
    for (uint32_t k = 0; k < NK; k++)
        unstable += pick(b, st, &f, key_of(k), true) != map[k];
    CHECK_INT(unstable, 0);
    /* no key: weighted random */
    memset(count, 0, sizeof(count));
    for (uint32_t k = 0; k < NK; k++)
        count[pick(b, st, &f, key_of(7), false)]++;
    check_shares(&f, count, NK, 0.02);
    st_free(b, st);
    st_free(b, st2);
    fix_free(&f);
}

/* Consistent hashing: ~1/N of the keys move when one of N servers goes, only those. */
static void test_hash_consistency(void)
{
    const struct rp_balancer *b = &rp_lb_hash;
    enum { NK = 10000 };
    static uint32_t map[NK];
    struct fix f, g;
    fix_init(&f, 10, NULL, NULL);
    void *st = st_new(b, &f);
    uint32_t count[MAXS] = {0};
    for (uint32_t k = 0; k < NK; k++) {
        map[k] = pick(b, st, &f, key_of(k), true);
        count[map[k]]++;
    }
    for (int i = 0; i < 10; i++)
        CHECK(count[i] > NK / 10 / 2 && count[i] < NK / 10 * 2);
    /* server 3 not a candidate */
    f.w[3] = 0;
    uint32_t moved = 0, moved_other = 0;
    for (uint32_t k = 0; k < NK; k++) {
        uint32_t i = pick(b, st, &f, key_of(k), true);
        moved += i != map[k];
        moved_other += map[k] != 3 && i != map[k];
    }
    CHECK(moved >= NK * 5 / 100 && moved <= NK * 15 / 100);
    CHECK_INT(moved, count[3]);
    CHECK_INT(moved_other, 0);
    /* server 3 removed from the config: a new ring, the same answer by identity */
    uint32_t ids[9] = {0, 1, 2, 4, 5, 6, 7, 8, 9};
    fix_init(&g, 9, NULL, ids);
    void *st2 = st_new(b, &g);
    moved_other = 0;
    for (uint32_t k = 0; k < NK; k++) {
        uint32_t i = ids[pick(b, st2, &g, key_of(k), true)];
        moved_other += map[k] != 3 && i != map[k];
        moved_other += i == 3;
    }
    CHECK_INT(moved_other, 0);
    st_free(b, st2);
    fix_free(&g);
    /* an eleventh server takes about 1/11, from everyone, and nothing else moves */
    uint32_t ids11[11] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    fix_init(&g, 11, NULL, ids11);
    st2 = st_new(b, &g);
    moved = moved_other = 0;
    for (uint32_t k = 0; k < NK; k++) {
        uint32_t i = pick(b, st2, &g, key_of(k), true);
        moved += i == 10;
        moved_other += i != 10 && i != map[k];
    }
    CHECK(moved >= NK * 4 / 100 && moved <= NK * 15 / 100);
    CHECK_INT(moved_other, 0);
    st_free(b, st2);
    fix_free(&g);
    /* no key: weighted random */
    f.w[3] = 1000;
    memset(count, 0, sizeof(count));
    for (uint32_t k = 0; k < 100000; k++)
        count[pick(b, st, &f, key_of(1), false)]++;
    check_shares(&f, count, 100000, 0.02);
    st_free(b, st);
    fix_free(&f);

    /* points in proportion to configured weight */
    fix_init(&f, 2, (uint32_t[]){1, 3}, NULL);
    st = st_new(b, &f);
    memset(count, 0, sizeof(count));
    for (uint32_t k = 0; k < 100000; k++)
        count[pick(b, st, &f, key_of(k), true)]++;
    CHECK(count[1] > 65000 && count[1] < 85000);
    st_free(b, st);
    fix_free(&f);
}

/* Bounded loads: with requests that never end, no server goes above its bound, even when
 * every request carries the same key. */
static void hash_bounded_run(const uint32_t *cw, bool hot)
{
    const struct rp_balancer *b = &rp_lb_hash;
    struct fix f;
    fix_init(&f, 10, cw, NULL);
    f.u.hash_balance = 125;
    void *st = st_new(b, &f);
    uint64_t wsum = 0;
    for (int i = 0; i < 10; i++)
        wsum += f.w[i];
    int over = 0;
    for (uint32_t t = 1; t <= 10000; t++) {
        uint32_t i = pick(b, st, &f, key_of(hot ? 42 : t), true);
        atomic_fetch_add(&f.srv[i].rt->inflight, 1);
        for (int j = 0; j < 10; j++) {
            double bound = ceil(1.25 * t * f.w[j] / (double)wsum) + 1;
            over += atomic_load(&f.srv[j].rt->inflight) > bound;
        }
    }
    CHECK_INT(over, 0);
    st_free(b, st);
    fix_free(&f);
}

static void test_hash_bounded(void)
{
    hash_bounded_run(NULL, false);
    hash_bounded_run(NULL, true);
    hash_bounded_run((uint32_t[]){1, 2, 3, 1, 2, 3, 1, 2, 3, 4}, false);
    hash_bounded_run((uint32_t[]){1, 2, 3, 1, 2, 3, 1, 2, 3, 4}, true);

    /* unbounded, a hot key stays on one server */
    struct fix f;
    fix_init(&f, 10, NULL, NULL);
    void *st = st_new(&rp_lb_hash, &f);
    uint32_t first = pick(&rp_lb_hash, st, &f, key_of(42), true);
    int same = 0;
    for (int t = 0; t < 1000; t++) {
        uint32_t i = pick(&rp_lb_hash, st, &f, key_of(42), true);
        atomic_fetch_add(&f.srv[i].rt->inflight, 1);
        same += i == first;
    }
    CHECK_INT(same, 1000);
    st_free(&rp_lb_hash, st);
    fix_free(&f);
}

int main(void)
{
    RUN(test_registry);
    RUN(test_round_robin);
    RUN(test_random_shares);
    RUN(test_candidates_only);
    RUN(test_least_conn);
    RUN(test_p2c);
    RUN(test_ip_hash);
    RUN(test_hash_consistency);
    RUN(test_hash_bounded);
    TEST_MAIN_END();
}
