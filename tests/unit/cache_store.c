/* Unit tests for the cache memory store: table operations, references outliving removal,
 * chunked bodies, waiters, the byte budget, S3-FIFO scan resistance and ghost re-admission,
 * purges, and a multi-threaded stress run. */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "cache/store.h"
#include "test.h"

static struct rp_slice S(const char *s) {
    return rp_slice_cstr(s);
}

static unsigned char
pat(unsigned id, uint64_t off)
{
    return (unsigned char)(id * 7 + off * 13 + (off >> 9));
}

static bool fill(struct rp_cache_obj *o, unsigned id, uint64_t from, size_t n)
{
    unsigned char buf[4096];
    while (n) {
        size_t k = n < sizeof(buf) ? n : sizeof(buf);
        for (size_t i = 0; i < k; i++)
            buf[i] = pat(id, from + i);
        if (!rp_cache_obj_append(o, buf, k))
            return false;
        from += k;
        n -= k;
    }
    return true;
}

/* Reads the body from off in whatever pieces the store gives; true when every byte matches
 * the pattern and the total is the body length. */
static bool body_ok(const struct rp_cache_obj *o, unsigned id, uint64_t off)
{
    uint64_t len = rp_cache_obj_body_len(o);
    size_t n;
    const unsigned char *p;
    while ((p = rp_cache_obj_body(o, off, &n)) != NULL) {
        if (!n)
            return false;
        for (size_t i = 0; i < n; i++)
            if (p[i] != pat(id, off + i))
                return false;
        off += n;
    }
    return off >= len;
}

/* Insert a complete object with a small body; returns whether it was stored. */
static bool put(struct rp_cache_store *st, const char *key, unsigned id, size_t body)
{
    struct rp_cache_obj *o = rp_cache_insert(st, S(key), S("HTTP/1.1 200 OK\r\n\r\n"), NULL, 0);
    if (!o)
        return false;
    bool ok = fill(o, id, 0, body);
    if (ok)
        rp_cache_obj_finish(o);
    rp_cache_obj_unref(o);
    return ok;
}

static bool present(struct rp_cache_store *st, const char *key)
{
    struct rp_cache_obj *o = rp_cache_lookup(st, S(key));
    rp_cache_obj_unref(o);
    return o != NULL;
}

static void test_basic(void)
{
    struct rp_cache_store *st = rp_cache_store_new(1 << 20);
    CHECK(st != NULL);
    CHECK(rp_cache_lookup(st, S("a")) == NULL);
    struct rp_slice tags[2] = {S("t1"), S("t2")};
    struct rp_cache_obj *o = rp_cache_insert(st, S("a"), S("head-a"), tags, 2);
    CHECK(o != NULL);
    CHECK_INT(rp_cache_obj_state(o), RP_OBJ_FILLING);
    CHECK_INT(rp_cache_store_count(st), 1);
    CHECK(rp_cache_store_bytes(st) > 0);
    CHECK(rp_cache_obj_append(o, "hello", 5));
    rp_cache_obj_finish(o);
    CHECK_INT(rp_cache_obj_state(o), RP_OBJ_COMPLETE);
    CHECK(!rp_cache_obj_append(o, "x", 1)); /* complete objects are immutable */
    rp_cache_obj_unref(o);

    struct rp_cache_obj *r = rp_cache_lookup(st, S("a"));
    CHECK(r != NULL);
    struct rp_slice h = rp_cache_obj_head(r);
    CHECK_MEM(h.p, h.n, "head-a");
    size_t n;
    const char *p = rp_cache_obj_body(r, 0, &n);
    CHECK_MEM(p, n, "hello");
    p = rp_cache_obj_body(r, 2, &n);
    CHECK_MEM(p, n, "llo");
    CHECK(rp_cache_obj_body(r, 5, &n) == NULL);
    CHECK_INT(n, 0);
    CHECK(rp_cache_lookup(st, S("ab")) == NULL);
    CHECK(rp_cache_lookup(st, S("")) == NULL);

    /* replace: the old object stays readable for its holder, lookups see the new one */
    struct rp_cache_obj *o2 = rp_cache_insert(st, S("a"), S("head-b"), NULL, 0);
    CHECK(o2 != NULL);
    CHECK_INT(rp_cache_store_count(st), 1);
    CHECK(rp_cache_obj_append(o2, "world!", 6));
    rp_cache_obj_finish(o2);
    rp_cache_obj_unref(o2);
    p = rp_cache_obj_body(r, 0, &n);
    CHECK_MEM(p, n, "hello");
    h = rp_cache_obj_head(r);
    CHECK_MEM(h.p, h.n, "head-a");
    rp_cache_obj_unref(r);
    r = rp_cache_lookup(st, S("a"));
    h = rp_cache_obj_head(r);
    CHECK_MEM(h.p, h.n, "head-b");

    /* remove: gone from the table, still readable by the holder */
    CHECK_INT(rp_cache_remove(st, S("a")), 1);
    CHECK_INT(rp_cache_remove(st, S("a")), 0);
    CHECK(rp_cache_lookup(st, S("a")) == NULL);
    CHECK_INT(rp_cache_store_count(st), 0);
    CHECK_INT(rp_cache_store_bytes(st), 0);
    p = rp_cache_obj_body(r, 0, &n);
    CHECK_MEM(p, n, "world!");
    rp_cache_obj_unref(r);

    /* empty key and head are fine */
    o = rp_cache_insert(st, S(""), S(""), NULL, 0);
    CHECK(o != NULL);
    rp_cache_obj_finish(o);
    rp_cache_obj_unref(o);
    CHECK(present(st, ""));
    rp_cache_store_free(st);
}

static void test_evicted_stays_readable(void)
{
    struct rp_cache_store *st = rp_cache_store_new(256 * 1024);
    struct rp_cache_obj *x = rp_cache_insert(st, S("x"), S("hx"), NULL, 0);
    CHECK(fill(x, 9, 0, 20000));
    rp_cache_obj_finish(x);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "fill/%d", i);
        CHECK(put(st, key, 1, 300));
    }
    CHECK(!present(st, "x"));
    CHECK_INT(rp_cache_obj_state(x), RP_OBJ_COMPLETE);
    CHECK_INT(rp_cache_obj_body_len(x), 20000);
    CHECK(body_ok(x, 9, 0));
    /* a filling object evicted midway keeps taking bytes for its readers */
    struct rp_cache_obj *y = rp_cache_insert(st, S("y"), S("hy"), NULL, 0);
    struct rp_cache_obj *ry = y; /* a reader's reference (not a lookup: that would be a hit) */
    rp_cache_obj_ref(ry);
    CHECK(fill(y, 4, 0, 1000));
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "more/%d", i);
        CHECK(put(st, key, 1, 300));
    }
    CHECK(!present(st, "y"));
    CHECK(fill(y, 4, 1000, 9000));
    rp_cache_obj_finish(y);
    CHECK_INT(rp_cache_obj_body_len(ry), 10000);
    CHECK(body_ok(ry, 4, 0));
    CHECK(rp_cache_store_bytes(st) <= 256 * 1024);
    rp_cache_obj_unref(y);
    rp_cache_obj_unref(ry);
    rp_cache_obj_unref(x);
    rp_cache_store_free(st);
}

static void test_chunks(void)
{
    struct rp_cache_store *st = rp_cache_store_new(64u << 20);
    struct rp_cache_obj *o = rp_cache_insert(st, S("big"), S("h"), NULL, 0);
    struct rp_cache_obj *r = rp_cache_lookup(st, S("big"));
    /* odd append sizes so that chunk boundaries fall inside appends */
    static const size_t sizes[] = {1, 100, 411, 7000, 3, 300000, 65536, 12345, 1, 600000};
    uint64_t len = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        CHECK(fill(o, 3, len, sizes[i]));
        len += sizes[i];
        CHECK_INT(rp_cache_obj_body_len(r), len);
        CHECK(body_ok(r, 3, 0));
    }
    /* arbitrary offsets, including every chunk edge region */
    for (uint64_t off = 0; off < len; off += 997)
        CHECK(body_ok(r, 3, off));
    for (uint64_t off = len - 2000; off < len; off++) {
        size_t n;
        const unsigned char *p = rp_cache_obj_body(r, off, &n);
        CHECK(p != NULL && n >= 1 && n <= len - off && p[0] == pat(3, off));
    }
    /* pointers handed out stay valid (and unchanged) while appends continue */
    size_t n0;
    const unsigned char *first = rp_cache_obj_body(r, 0, &n0);
    CHECK(fill(o, 3, len, 1 << 20));
    len += 1 << 20;
    CHECK(first[0] == pat(3, 0) && first[n0 - 1] == pat(3, n0 - 1));
    CHECK(body_ok(r, 3, 12345));
    rp_cache_obj_finish(o);
    rp_cache_obj_unref(o);
    CHECK_INT(rp_cache_obj_body_len(r), len);
    rp_cache_obj_unref(r);
    rp_cache_store_free(st);
}

static atomic_int fired_a, fired_b;
static void on_a(void *arg)
{
    (void)arg;
    atomic_fetch_add(&fired_a, 1);
}
static void on_b(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
}

static void test_waiters(void)
{
    struct rp_cache_store *st = rp_cache_store_new(1 << 20);
    struct rp_cache_obj *o = rp_cache_insert(st, S("w"), S("h"), NULL, 0);
    CHECK(rp_cache_obj_wait(o, on_a, NULL));
    CHECK(rp_cache_obj_wait(o, on_b, &fired_b));
    CHECK(rp_cache_obj_append(o, "ab", 2));
    CHECK_INT(atomic_load(&fired_a), 1);
    CHECK_INT(atomic_load(&fired_b), 1);
    CHECK(rp_cache_obj_append(o, "cd", 2)); /* registrations fire once */
    CHECK_INT(atomic_load(&fired_a), 1);
    CHECK(rp_cache_obj_wait(o, on_a, NULL));
    rp_cache_obj_finish(o);
    CHECK_INT(atomic_load(&fired_a), 2);
    CHECK_INT(atomic_load(&fired_b), 1);
    CHECK(!rp_cache_obj_wait(o, on_a, NULL)); /* not filling: read instead */
    rp_cache_obj_finish(o);
    rp_cache_obj_abort(o); /* no effect once complete */
    CHECK_INT(atomic_load(&fired_a), 2);
    CHECK_INT(rp_cache_obj_state(o), RP_OBJ_COMPLETE);
    CHECK(present(st, "w"));
    rp_cache_obj_unref(o);

    /* abort: waiters told, readers see FAILED, the key is gone */
    o = rp_cache_insert(st, S("v"), S("h"), NULL, 0);
    struct rp_cache_obj *r = rp_cache_lookup(st, S("v"));
    CHECK(r == o);
    for (int i = 0; i < 10; i++) /* more than the initial waiter array */
        CHECK(rp_cache_obj_wait(r, on_b, &fired_b));
    rp_cache_obj_abort(o);
    CHECK_INT(atomic_load(&fired_b), 11);
    CHECK_INT(rp_cache_obj_state(r), RP_OBJ_FAILED);
    CHECK(!present(st, "v"));
    CHECK(!rp_cache_obj_wait(r, on_b, &fired_b));
    CHECK(!rp_cache_obj_append(o, "x", 1));
    CHECK_INT(atomic_load(&fired_b), 11);
    rp_cache_obj_unref(o);
    rp_cache_obj_unref(r);
    CHECK_INT(rp_cache_store_count(st), 1);
    rp_cache_store_free(st);
}

static void test_budget(void)
{
    const size_t budget = 512 * 1024;
    struct rp_cache_store *st = rp_cache_store_new(budget);
    /* above budget / 8: refused at insert, or aborted by the append that crosses it */
    char *big = calloc(1, budget / 8 + 1);
    CHECK(rp_cache_insert(st, S("huge"), (struct rp_slice){big, budget / 8 + 1}, NULL, 0) == NULL);
    free(big);
    struct rp_cache_obj *o = rp_cache_insert(st, S("grow"), S("h"), NULL, 0);
    struct rp_cache_obj *r = rp_cache_lookup(st, S("grow"));
    CHECK(!fill(o, 1, 0, budget / 8));
    CHECK_INT(rp_cache_obj_state(r), RP_OBJ_FAILED);
    CHECK(!present(st, "grow"));
    CHECK(rp_cache_obj_body_len(r) > budget / 16); /* it got most of the way */
    CHECK(body_ok(r, 1, 0));
    rp_cache_obj_unref(r);
    rp_cache_obj_unref(o);
    CHECK_INT(rp_cache_store_bytes(st), 0);

    uint64_t rng = 88172645463325252ULL;
    char key[32];
    int over = 0, stored = 0;
    for (int i = 0; i < 20000; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        snprintf(key, sizeof(key), "obj/%u", (unsigned)(rng % 5000));
        size_t body = (size_t)(rng >> 20) % 40000;
        stored += put(st, key, 2, body);
        if (rp_cache_store_bytes(st) > budget)
            over++;
        if (i % 7 == 0 && rp_cache_store_bytes(st) > budget)
            over++;
    }
    CHECK_INT(over, 0);
    CHECK_INT(stored, 20000);
    CHECK(rp_cache_store_count(st) > 20);
    CHECK(rp_cache_store_bytes(st) > budget / 2); /* and it is actually used */
    rp_cache_store_free(st);
}

/* The cost of one small object as counted by the store. */
static size_t unit_cost(void)
{
    struct rp_cache_store *st = rp_cache_store_new(1 << 20);
    put(st, "scan/00000", 1, 200);
    size_t c = rp_cache_store_bytes(st);
    rp_cache_store_free(st);
    return c;
}

/* Capacity 400 objects; each round scans 1000 new keys then touches the 100 hot ones. Under
 * plain FIFO (or LRU) every hot key has been pushed out by the 1000 insertions since its last
 * touch (1000 > 400), so by construction it would hit 0 % of the touches. S3-FIFO moves the
 * hot keys to M and lets the scan pass through S. */
static void test_scan_resistance(void)
{
    size_t cost = unit_cost();
    struct rp_cache_store *st = rp_cache_store_new(400 * cost);
    char key[32];
    for (int rep = 0; rep < 3; rep++)
        for (int h = 0; h < 100; h++) {
            snprintf(key, sizeof(key), "hot/%03d", h);
            if (!present(st, key))
                put(st, key, 5, 200);
        }
    int hits = 0, last = 0;
    for (int round = 0; round < 10; round++) {
        for (int j = 0; j < 1000; j++) {
            snprintf(key, sizeof(key), "scan/%05d", round * 1000 + j);
            put(st, key, 6, 200);
        }
        last = 0;
        for (int h = 0; h < 100; h++) {
            snprintf(key, sizeof(key), "hot/%03d", h);
            if (present(st, key))
                last++;
            else
                put(st, key, 5, 200);
        }
        hits += last;
        CHECK(rp_cache_store_bytes(st) <= 400 * cost);
    }
    printf("  scan: hot hits %d/1000, %d/100 in the last round, %zu objects\n", hits, last,
           rp_cache_store_count(st));
    CHECK(hits >= 800);
    CHECK(last >= 80);
    rp_cache_store_free(st);
}

/* A key evicted from S unused goes to the ghost; inserted again soon it enters M, where a
 * flood of new keys passing through S does not reach it, while a fresh key inserted at the
 * same moment (into S) is flushed. */
static void test_ghost(void)
{
    size_t cost = unit_cost();
    struct rp_cache_store *st = rp_cache_store_new(256 * cost);
    char key[32];
    CHECK(put(st, "ghost/a", 1, 200));
    for (int i = 0; i < 384; i++) {
        snprintf(key, sizeof(key), "pre/%d", i);
        put(st, key, 1, 200);
    }
    CHECK(!present(st, "ghost/a")); /* evicted (a miss does not count as a hit) */
    CHECK(put(st, "ghost/a", 1, 200));
    CHECK(put(st, "fresh/b", 1, 200));
    for (int i = 0; i < 512; i++) {
        snprintf(key, sizeof(key), "flood/%d", i);
        put(st, key, 1, 200);
    }
    CHECK(present(st, "ghost/a"));
    CHECK(!present(st, "fresh/b"));
    rp_cache_store_free(st);
}

static void test_purge(void)
{
    struct rp_cache_store *st = rp_cache_store_new(4 << 20);
    char key[64];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "%s/item/%d", i % 3 == 0 ? "https://a" : "https://b", i);
        struct rp_slice tags[2] = {S(i % 2 ? "odd" : "even"), S(i % 10 == 0 ? "ten" : "x")};
        struct rp_cache_obj *o = rp_cache_insert(st, S(key), S("h"), tags, 2);
        CHECK(o != NULL);
        CHECK(fill(o, 1, 0, 100));
        if (i % 50 != 0) /* a few stay filling: purges remove those too */
            rp_cache_obj_finish(o);
        rp_cache_obj_unref(o);
    }
    CHECK_INT(rp_cache_store_count(st), 300);
    CHECK_INT(rp_cache_purge_prefix(st, S("https://a/")), 100);
    CHECK_INT(rp_cache_purge_prefix(st, S("https://a/")), 0);
    CHECK(!present(st, "https://a/item/3"));
    CHECK(present(st, "https://b/item/4"));
    CHECK_INT(rp_cache_purge_tag(st, S("ten")), 20); /* i % 10 == 0 and i % 3 != 0 */
    CHECK(!present(st, "https://b/item/10"));
    CHECK(present(st, "https://b/item/11"));
    CHECK_INT(rp_cache_purge_tag(st, S("od")), 0); /* tags match whole */
    CHECK_INT(rp_cache_purge_tag(st, S("odd")), 100);
    CHECK_INT(rp_cache_store_count(st), 80);
    CHECK_INT(rp_cache_purge_prefix(st, S("")), 80);
    CHECK_INT(rp_cache_store_count(st), 0);
    CHECK_INT(rp_cache_store_bytes(st), 0);
    rp_cache_store_free(st);
}

/* ---- request collapsing: readers stream a filling object, woken only by waiters ---- */

struct stream_reader {
    struct rp_cache_obj *o;
    sem_t sem;
    uint64_t got;
    bool bad;
};

static void on_stream(void *arg)
{
    sem_post(arg);
}

static void *stream_thread(void *arg)
{
    struct stream_reader *r = arg;
    for (;;) {
        /* the state first: once it is final, one more drain reads everything */
        enum rp_cache_obj_state s = rp_cache_obj_state(r->o);
        size_t n;
        const unsigned char *p;
        while ((p = rp_cache_obj_body(r->o, r->got, &n)) != NULL) {
            for (size_t i = 0; i < n; i++)
                if (p[i] != pat(8, r->got + i))
                    r->bad = true;
            r->got += n;
        }
        if (s != RP_OBJ_FILLING) {
            if (s == RP_OBJ_FAILED || r->got != rp_cache_obj_body_len(r->o))
                r->bad = true;
            return NULL;
        }
        if (!rp_cache_obj_wait(r->o, on_stream, &r->sem))
            continue; /* ended meanwhile: read again */
        if (rp_cache_obj_body_len(r->o) > r->got)
            continue; /* bytes came just before registering; a later wake is harmless */
        sem_wait(&r->sem);
    }
}

static void test_collapsing(void)
{
    struct rp_cache_store *st = rp_cache_store_new(64u << 20);
    struct rp_cache_obj *o = rp_cache_insert(st, S("c"), S("h"), NULL, 0);
    struct stream_reader rd[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        rd[i] = (struct stream_reader){.o = rp_cache_lookup(st, S("c"))};
        sem_init(&rd[i].sem, 0, 0);
        pthread_create(&th[i], NULL, stream_thread, &rd[i]);
    }
    uint64_t len = 0, rng = 12345;
    for (int i = 0; i < 3000; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t n = 1 + (size_t)(rng % 1500);
        CHECK(fill(o, 8, len, n));
        len += n;
        if (i % 64 == 0)
            sched_yield();
    }
    rp_cache_obj_finish(o);
    rp_cache_obj_unref(o);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK(!rd[i].bad);
        CHECK_INT(rd[i].got, len);
        rp_cache_obj_unref(rd[i].o);
        sem_destroy(&rd[i].sem);
    }
    rp_cache_store_free(st);
}

/* ---- multi-threaded stress ---- */

#define STRESS_KEYS 200
#define STRESS_BUDGET (256 * 1024)

static struct rp_cache_store *stress_st;
static atomic_int stress_bad, stress_fired;

static void on_stress(void *arg)
{
    (void)arg;
    atomic_fetch_add(&stress_fired, 1);
}

static unsigned id_of(const struct rp_cache_obj *o)
{
    struct rp_slice h = rp_cache_obj_head(o);
    unsigned id = 0;
    for (size_t i = 3; i < h.n; i++)
        id = id * 10 + (unsigned)(h.p[i] - '0');
    return id;
}

static void *stress_thread(void *arg)
{
    uint64_t rng = 0x9e3779b97f4a7c15ULL * (uintptr_t)arg + 1;
    struct rp_cache_obj *held[8] = {0};
    struct rp_cache_obj *wr[2] = {0};
    unsigned wid[2] = {0};
    uint64_t wlen[2] = {0};
    char key[32], head[32];
    for (int op = 0; op < 25000; op++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        unsigned r = (unsigned)(rng % 100), id = (unsigned)((rng >> 8) % STRESS_KEYS);
        int slot = (int)((rng >> 20) % 8), w = (int)((rng >> 24) % 2);
        snprintf(key, sizeof(key), "k/%u", id);
        if (r < 40) {
            struct rp_cache_obj *o = rp_cache_lookup(stress_st, S(key));
            if (o) {
                if (id_of(o) != id || !body_ok(o, id, (rng >> 30) % 3000))
                    atomic_fetch_add(&stress_bad, 1);
                if (rp_cache_obj_state(o) == RP_OBJ_FILLING)
                    rp_cache_obj_wait(o, on_stress, NULL);
                rp_cache_obj_unref(held[slot]);
                held[slot] = o;
            }
        } else if (r < 55) {
            if (!wr[w]) {
                snprintf(head, sizeof(head), "id=%u", id);
                struct rp_slice tag = S(id % 5 == 3 ? "t3" : "t");
                wr[w] = rp_cache_insert(stress_st, S(key), S(head), &tag, 1);
                wid[w] = id;
                wlen[w] = 0;
            }
        } else if (r < 75) {
            if (wr[w]) {
                size_t n = 1 + (size_t)((rng >> 32) % 5000);
                if (fill(wr[w], wid[w], wlen[w], n)) {
                    wlen[w] += n;
                } else {
                    if (rp_cache_obj_state(wr[w]) != RP_OBJ_FAILED)
                        atomic_fetch_add(&stress_bad, 1);
                    rp_cache_obj_unref(wr[w]);
                    wr[w] = NULL;
                }
            }
        } else if (r < 83) {
            if (wr[w]) {
                rp_cache_obj_finish(wr[w]);
                rp_cache_obj_unref(wr[w]);
                wr[w] = NULL;
            }
        } else if (r < 86) {
            if (wr[w]) {
                rp_cache_obj_abort(wr[w]);
                rp_cache_obj_unref(wr[w]);
                wr[w] = NULL;
            }
        } else if (r < 93) {
            rp_cache_remove(stress_st, S(key));
        } else if (r < 98) {
            rp_cache_obj_unref(held[slot]);
            held[slot] = NULL;
        } else if (r == 98) {
            rp_cache_purge_prefix(stress_st, S("k/1"));
        } else {
            rp_cache_purge_tag(stress_st, S("t3"));
        }
        if (rp_cache_store_bytes(stress_st) > STRESS_BUDGET)
            atomic_fetch_add(&stress_bad, 1);
    }
    for (int i = 0; i < 8; i++) {
        if (held[i] && !body_ok(held[i], id_of(held[i]), 0))
            atomic_fetch_add(&stress_bad, 1);
        rp_cache_obj_unref(held[i]);
    }
    for (int i = 0; i < 2; i++)
        if (wr[i]) {
            rp_cache_obj_finish(wr[i]);
            rp_cache_obj_unref(wr[i]);
        }
    return NULL;
}

static void test_stress(void)
{
    stress_st = rp_cache_store_new(STRESS_BUDGET);
    pthread_t th[4];
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, stress_thread, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(atomic_load(&stress_bad), 0);
    CHECK(rp_cache_store_bytes(stress_st) <= STRESS_BUDGET);
    printf("  stress: %zu objects, %zu bytes, %d waiter calls\n", rp_cache_store_count(stress_st),
           rp_cache_store_bytes(stress_st), atomic_load(&stress_fired));
    /* every remaining object is in the table only: purging all empties the accounting */
    size_t n = rp_cache_store_count(stress_st);
    CHECK_INT(rp_cache_purge_prefix(stress_st, S("")), n);
    CHECK_INT(rp_cache_store_bytes(stress_st), 0);
    rp_cache_store_free(stress_st);
}

int main(void)
{
    RUN(test_basic);
    RUN(test_evicted_stays_readable);
    RUN(test_chunks);
    RUN(test_waiters);
    RUN(test_budget);
    RUN(test_scan_resistance);
    RUN(test_ghost);
    RUN(test_purge);
    RUN(test_collapsing);
    RUN(test_stress);
    TEST_MAIN_END();
}
