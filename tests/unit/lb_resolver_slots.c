/* Unit tests for the resolver's slot bookkeeping (src/lb/resolver_slots.c): unchanged
 * addresses keep their slot and state, vanished ones are cleared, new ones fill empty slots
 * (previously empty ones first), and an excess is ignored. */
#include <arpa/inet.h>
#include <stdlib.h>

#include "lb/resolver_int.h"
#include "lb/server_state.h"
#include "test.h"

#define NSLOTS 4

static struct rp_upstream_conf up = {.name = "app"};
static struct rp_server_conf servers[NSLOTS];
static struct rp_server_conf *slot_ptrs[NSLOTS];
static struct rp_resolve_name nm;

static void setup(void)
{
    for (int i = 0; i < NSLOTS; i++) {
        free(servers[i].rt);
        memset(&servers[i], 0, sizeof(servers[i]));
        servers[i].resolve = true;
        servers[i].host = "app.test";
        servers[i].port = 8080;
        servers[i].slot = (uint32_t)i;
        servers[i].rt = calloc(1, sizeof(struct rp_server_rt));
        atomic_store(&servers[i].rt->healthy, true);
        slot_ptrs[i] = &servers[i];
    }
    nm = (struct rp_resolve_name){
        .u = &up, .host = "app.test", .port = 8080, .slots = slot_ptrs, .nslots = NSLOTS};
}

static struct rp_sockaddr v4(const char *ip)
{
    struct rp_dns_addr a = {.family = AF_INET};
    inet_pton(AF_INET, ip, a.bytes);
    struct rp_sockaddr out;
    rp_resolver_sockaddr(&a, 8080, &out);
    return out;
}

/* The text of slot s's address, or "-" when empty. */
static const char *slot_text(int s)
{
    static char buf[NSLOTS][64];
    struct rp_sockaddr cur;
    if (!rp_server_addr(&servers[s], &cur))
        return "-";
    snprintf(buf[s], sizeof(buf[s]), "%s", cur.text);
    return buf[s];
}

static void test_sockaddr_text(void)
{
    struct rp_sockaddr s = v4("127.0.0.2");
    CHECK(!strcmp(s.text, "127.0.0.2:8080"));
    CHECK_INT(s.ss.ss_family, AF_INET);
    CHECK_INT(ntohs(((struct sockaddr_in *)&s.ss)->sin_port), 8080);
    struct rp_dns_addr a6 = {.family = AF_INET6};
    inet_pton(AF_INET6, "2001:db8::5", a6.bytes);
    rp_resolver_sockaddr(&a6, 443, &s);
    CHECK(!strcmp(s.text, "[2001:db8::5]:443"));
    CHECK_INT(s.len, sizeof(struct sockaddr_in6));
}

static void test_fill_keep_clear(void)
{
    setup();
    struct rp_sockaddr a[3] = {v4("127.0.0.1"), v4("127.0.0.2"), v4("127.0.0.3")};
    CHECK_INT(rp_resolver_apply(&nm, a, 2, 5), 2);
    CHECK(!strcmp(slot_text(0), "127.0.0.1:8080"));
    CHECK(!strcmp(slot_text(1), "127.0.0.2:8080"));
    CHECK(!strcmp(slot_text(2), "-"));

    /* the same answer in another order: nothing changes, state is not reset */
    atomic_store(&servers[0].rt->consec_fail, 2);
    struct rp_sockaddr same[2] = {a[1], a[0]};
    CHECK_INT(rp_resolver_apply(&nm, same, 2, 5), 0);
    CHECK_INT(atomic_load(&servers[0].rt->consec_fail), 2);

    /* .1 goes, .3 comes: .3 takes an empty slot that was not just vacated */
    struct rp_sockaddr next[2] = {a[1], a[2]};
    CHECK_INT(rp_resolver_apply(&nm, next, 2, 5), 2);
    CHECK(!strcmp(slot_text(0), "-"));
    CHECK(!strcmp(slot_text(1), "127.0.0.2:8080"));
    CHECK(!strcmp(slot_text(2), "127.0.0.3:8080"));
    CHECK(rp_server_state(&servers[0], 0) == RP_SRV_ABSENT);
    CHECK(rp_server_state(&servers[2], 0) == RP_SRV_UP);
}

static void test_full_slots_reuse_and_overflow(void)
{
    setup();
    struct rp_sockaddr a[6];
    for (int i = 0; i < 6; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
        a[i] = v4(ip);
    }
    CHECK_INT(rp_resolver_apply(&nm, a, 4, 30), 4);
    /* all slots full; .1 replaced by .5: the freed slot is reused */
    struct rp_sockaddr b[4] = {a[4], a[1], a[2], a[3]};
    CHECK_INT(rp_resolver_apply(&nm, b, 4, 30), 2);
    CHECK(!strcmp(slot_text(0), "10.0.0.5:8080"));
    CHECK(!strcmp(slot_text(3), "10.0.0.4:8080"));
    /* six addresses for four slots: the two extra are ignored, the rest stay */
    CHECK_INT(rp_resolver_apply(&nm, a, 6, 30), 0); /* no slot free: nothing moves */
    CHECK(nm.overflow_warned);
    int present = 0;
    for (int s = 0; s < NSLOTS; s++)
        present += strcmp(slot_text(s), "-") != 0;
    CHECK_INT(present, NSLOTS);
    /* back under the slot count: the warning may be said again later */
    CHECK_INT(rp_resolver_apply(&nm, a, 2, 30), 4);
    CHECK(!nm.overflow_warned);
}

static void test_empty_answer_clears_all(void)
{
    /* the caller decides that an empty answer is a failure; apply itself obeys */
    setup();
    struct rp_sockaddr a[1] = {v4("127.0.0.9")};
    CHECK_INT(rp_resolver_apply(&nm, a, 1, 1), 1);
    CHECK_INT(rp_resolver_apply(&nm, a, 0, 1), 1);
    CHECK(!strcmp(slot_text(0), "-"));
}

int main(void)
{
    RUN(test_sockaddr_text);
    RUN(test_fill_keep_clear);
    RUN(test_full_slots_reuse_and_overflow);
    RUN(test_empty_answer_clears_all);
    for (int i = 0; i < NSLOTS; i++)
        free(servers[i].rt);
    TEST_MAIN_END();
}
