/* Unit tests for config value syntax: durations, sizes, integers, socket addresses. */
#include <arpa/inet.h>

#include "config/config.h"
#include "config/units.h"
#include "test.h"

static int dur(const char *s, uint64_t *ms)
{
    return rp_cfg_parse_duration(rp_slice_cstr(s), ms);
}

static int size(const char *s, uint64_t *b)
{
    return rp_cfg_parse_size(rp_slice_cstr(s), b);
}

static void test_durations(void)
{
    uint64_t v = 99;
    CHECK_INT(dur("250ms", &v), 0);
    CHECK_INT(v, 250);
    CHECK_INT(dur("30s", &v), 0);
    CHECK_INT(v, 30000);
    CHECK_INT(dur("5m", &v), 0);
    CHECK_INT(v, 300000);
    CHECK_INT(dur("1h", &v), 0);
    CHECK_INT(v, 3600000);
    CHECK_INT(dur("0", &v), 0);
    CHECK_INT(v, 0);
    CHECK_INT(dur("0s", &v), 0);
    CHECK_INT(dur("30", &v), -1); /* a unit is required */
    CHECK_INT(dur("", &v), -1);
    CHECK_INT(dur("s", &v), -1);
    CHECK_INT(dur("-1s", &v), -1);
    CHECK_INT(dur("1.5s", &v), -1);
    CHECK_INT(dur("10 s", &v), -1);
    CHECK_INT(dur("10S", &v), -1);
    CHECK_INT(dur("10d", &v), -1);
    CHECK_INT(dur("10sec", &v), -1);
    CHECK_INT(dur("18446744073709551615ms", &v), 0);
    CHECK_INT(dur("18446744073709551615s", &v), -1);  /* overflow after the unit */
    CHECK_INT(dur("18446744073709551616ms", &v), -1); /* overflow in the digits */
}

static void test_sizes(void)
{
    uint64_t v = 0;
    CHECK_INT(size("512", &v), 0);
    CHECK_INT(v, 512);
    CHECK_INT(size("16k", &v), 0);
    CHECK_INT(v, 16384);
    CHECK_INT(size("16K", &v), 0);
    CHECK_INT(v, 16384);
    CHECK_INT(size("1m", &v), 0);
    CHECK_INT(v, 1048576);
    CHECK_INT(size("1G", &v), 0);
    CHECK_INT(v, 1073741824);
    CHECK_INT(size("0", &v), 0);
    CHECK_INT(v, 0);
    CHECK_INT(size("1kb", &v), -1);
    CHECK_INT(size("k", &v), -1);
    CHECK_INT(size("", &v), -1);
    CHECK_INT(size("1t", &v), -1);
    CHECK_INT(size("-1", &v), -1);
    CHECK_INT(size("17179869183g", &v), 0);  /* 2^64 - 2^30 */
    CHECK_INT(size("17179869184G", &v), -1); /* 2^64 */
    CHECK_INT(size("99999999999999999g", &v), -1);
}

static void test_uint_and_format(void)
{
    uint64_t v;
    CHECK_INT(rp_cfg_parse_uint(rp_slice_cstr("42"), &v), 0);
    CHECK_INT(v, 42);
    CHECK_INT(rp_cfg_parse_uint(rp_slice_cstr("4 2"), &v), -1);
    CHECK_INT(rp_cfg_parse_uint(rp_slice_cstr("+4"), &v), -1);
    CHECK_INT(rp_cfg_parse_uint(rp_slice_cstr(""), &v), -1);
    CHECK_INT(rp_cfg_parse_uint(rp_slice_cstr("0x10"), &v), -1);
    char buf[32];
    rp_cfg_format_duration(1500, buf, sizeof(buf));
    CHECK(!strcmp(buf, "1500ms"));
    rp_cfg_format_duration(30000, buf, sizeof(buf));
    CHECK(!strcmp(buf, "30s"));
    rp_cfg_format_duration(300000, buf, sizeof(buf));
    CHECK(!strcmp(buf, "5m"));
    rp_cfg_format_duration(0, buf, sizeof(buf));
    CHECK(!strcmp(buf, "0ms"));
    rp_cfg_format_size(16384, buf, sizeof(buf));
    CHECK(!strcmp(buf, "16k"));
    rp_cfg_format_size(1000, buf, sizeof(buf));
    CHECK(!strcmp(buf, "1000"));
    rp_cfg_format_size(1073741824, buf, sizeof(buf));
    CHECK(!strcmp(buf, "1g"));
}

static void test_sockaddr(void)
{
    struct rp_sockaddr a;
    const char *why = NULL;
    CHECK_INT(rp_sockaddr_parse("127.0.0.1:8080", &a, &why), 0);
    CHECK(!strcmp(a.text, "127.0.0.1:8080"));
    CHECK_INT(a.ss.ss_family, AF_INET);
    CHECK_INT(a.len, sizeof(struct sockaddr_in));
    CHECK_INT(rp_sockaddr_parse(":8080", &a, &why), 0);
    CHECK(!strcmp(a.text, "0.0.0.0:8080"));
    CHECK_INT(rp_sockaddr_parse("[::1]:9000", &a, &why), 0);
    CHECK(!strcmp(a.text, "[::1]:9000"));
    CHECK_INT(a.ss.ss_family, AF_INET6);
    CHECK_INT(ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port), 9000);
    CHECK_INT(rp_sockaddr_parse("localhost:80", &a, &why), 0);
    CHECK(!strcmp(a.text, "127.0.0.1:80") || !strcmp(a.text, "[::1]:80"));

    CHECK_INT(rp_sockaddr_parse("127.0.0.1", &a, &why), -1);
    CHECK(why && strstr(why, "host:port"));
    CHECK_INT(rp_sockaddr_parse("127.0.0.1:0", &a, &why), -1);
    CHECK_INT(rp_sockaddr_parse("127.0.0.1:65536", &a, &why), -1);
    CHECK(why && strstr(why, "1 to 65535"));
    CHECK_INT(rp_sockaddr_parse("127.0.0.1:http", &a, &why), -1);
    CHECK_INT(rp_sockaddr_parse("::1:80", &a, &why), -1);
    CHECK(why && strstr(why, "brackets"));
    CHECK_INT(rp_sockaddr_parse("[::1:80", &a, &why), -1);
    CHECK_INT(rp_sockaddr_parse("[zz]:80", &a, &why), -1);
    CHECK_INT(rp_sockaddr_parse("1.2.3:80", &a, &why), -1);
    CHECK_INT(rp_sockaddr_parse("300.1.1.1:80", &a, &why), -1);
    CHECK_INT(rp_sockaddr_parse("bad host:80", &a, &why), -1);
    CHECK_INT(rp_sockaddr_parse("", &a, &why), -1);
}

int main(void)
{
    RUN(test_durations);
    RUN(test_sizes);
    RUN(test_uint_and_format);
    RUN(test_sockaddr);
    TEST_MAIN_END();
}
