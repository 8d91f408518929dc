/* Unit tests for the YAML config loader: every key and shorthand of a good file lands in the
 * snapshot; bad files give the exact first error with its position; many errors come at once. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/check.h"
#include "config/config.h"
#include "lb/balancer.h"
#include "core/log_level.h"
#include "test.h"

static struct rp_config *load(const char *yaml, struct rp_cfg_errors *errs)
{
    return rp_config_load_buffer("t.yaml", yaml, strlen(yaml), errs);
}

static const char full_yaml[] =
    "workers: 3\n"
    "listen:\n"
    "  - address: \"127.0.0.1:8080\"\n"
    "  - \"[::1]:8443\"\n"
    "upstreams:\n"
    "  app:\n"
    "    servers:\n"
    "      - address: \"127.0.0.1:9001\"\n"
    "        weight: 5\n"
    "      - \"127.0.0.1:9002\"\n"
    "    host_header: backend.internal\n"
    "    keepalive: 8\n"
    "    keepalive_timeout: 90s\n"
    "  other:\n"
    "    servers: [\"10.0.0.1:80\"]\n"
    "routes:\n"
    "  - match:\n"
    "      host: [\"Example.COM\", \"*.example.org\"]\n"
    "      path_prefix: /api/\n"
    "      methods: [GET, HEAD]\n"
    "      headers: {X-Env: prod, X-Debug: \"*\"}\n"
    "    proxy: app\n"
    "    strip_prefix: /api\n"
    "    add_prefix: /v2\n"
    "    request_headers: {set: {X-A: \"1\"}, add: {X-B: \"2\"}, remove: [X-C, X-D]}\n"
    "    response_headers: {set: {X-E: \"3\"}, remove: X-F}\n"
    "  - match: {path: /old, method: POST}\n"
    "    redirect: {status: 301, location: \"https://example.com$request_uri\"}\n"
    "  - match: {path_regex: \"^/v[0-9]+/(a)(b)?\"}\n"
    "    redirect: /elsewhere\n"
    "  - match: {host: \"*\"}\n"
    "    respond: {status: 204, body: \"ok\\n\", content_type: text/html}\n"
    "  - respond: {}\n"
    "  - static: {root: /tmp/, index: \"\"}\n"
    "  - static: /tmp\n"
    "timeouts: {header: 1s, body: 2s, keepalive: 3s, send: 4s, connect: 250ms, backend_read: 5m,\n"
    "           upgrade_idle: 1h, drain: 0}\n"
    "limits: {max_request_line: 4k, max_header_size: 64K, max_headers: 50, max_body_size: 0}\n"
    "proxy: {trust_forwarded: true, via: true, server_header: \"\"}\n"
    "log: {access: off, format: json, error: /tmp/err.log, level: debug}\n";

static void test_full(void)
{
    struct rp_cfg_errors errs = {0};
    struct rp_config *c = load(full_yaml, &errs);
    for (uint32_t i = 0; i < errs.n; i++)
        fprintf(stderr, "unexpected: %s\n", errs.msgs[i]);
    CHECK(c != NULL);
    CHECK_INT(errs.n, 0);
    if (!c)
        return;
    CHECK_INT(c->refs, 1);
    CHECK(!strcmp(c->file, "t.yaml"));
    CHECK_INT(c->workers, 3);
    CHECK_INT(c->nlisteners, 2);
    CHECK(!strcmp(c->listeners[0].addr.text, "127.0.0.1:8080"));
    CHECK(!strcmp(c->listeners[0].name, "127.0.0.1:8080"));
    CHECK(!strcmp(c->listeners[1].addr.text, "[::1]:8443"));

    CHECK_INT(c->nupstreams, 2);
    const struct rp_upstream_conf *u = &c->upstreams[0];
    CHECK(!strcmp(u->name, "app"));
    CHECK_INT(u->index, 0);
    CHECK_INT(u->nservers, 2);
    CHECK(!strcmp(u->servers[0].addr.text, "127.0.0.1:9001"));
    CHECK_INT(u->servers[0].weight, 5);
    CHECK(!strcmp(u->servers[1].addr.text, "127.0.0.1:9002"));
    CHECK_INT(u->servers[1].weight, 1);
    CHECK(!strcmp(u->host_header, "backend.internal"));
    CHECK_INT(u->keepalive, 8);
    CHECK_INT(u->keepalive_timeout, 90000);
    u = &c->upstreams[1];
    CHECK(!strcmp(u->name, "other"));
    CHECK_INT(u->index, 1);
    CHECK(u->host_header == NULL);
    CHECK_INT(u->keepalive, 32);
    CHECK_INT(u->keepalive_timeout, 60000);

    CHECK_INT(c->nroutes, 7);
    const struct rp_route *r = &c->routes[0];
    CHECK_INT(r->index, 0);
    CHECK_INT(r->line, 17);
    CHECK(!strcmp(r->file, "t.yaml"));
    CHECK_INT(r->match.nhosts, 2);
    CHECK_INT(r->match.hosts[0].kind, RP_HOST_EXACT);
    CHECK(!strcmp(r->match.hosts[0].name, "example.com"));
    CHECK_INT(r->match.hosts[1].kind, RP_HOST_WILDCARD);
    CHECK(!strcmp(r->match.hosts[1].name, ".example.org"));
    CHECK_INT(r->match.path_kind, RP_PATH_PREFIX);
    CHECK(!strcmp(r->match.path, "/api/"));
    CHECK_INT(r->match.nmethods, 2);
    CHECK(!strcmp(r->match.methods[0], "GET") && !strcmp(r->match.methods[1], "HEAD"));
    CHECK_INT(r->match.nheaders, 2);
    CHECK(!strcmp(r->match.headers[0].name, "X-Env"));
    CHECK(!strcmp(r->match.headers[0].value, "prod"));
    CHECK(!strcmp(r->match.headers[1].value, "*"));
    CHECK_INT(r->action, RP_ACT_PROXY);
    CHECK(r->upstream == &c->upstreams[0]);
    CHECK(!strcmp(r->strip_prefix, "/api"));
    CHECK(!strcmp(r->add_prefix, "/v2"));
    CHECK_INT(r->request_headers.nset, 1);
    CHECK(!strcmp(r->request_headers.set[0].name, "X-A"));
    CHECK(!strcmp(r->request_headers.set[0].value, "1"));
    CHECK_INT(r->request_headers.nadd, 1);
    CHECK(!strcmp(r->request_headers.add[0].name, "X-B"));
    CHECK_INT(r->request_headers.nremove, 2);
    CHECK(!strcmp(r->request_headers.remove[1], "X-D"));
    CHECK_INT(r->response_headers.nset, 1);
    CHECK_INT(r->response_headers.nadd, 0);
    CHECK_INT(r->response_headers.nremove, 1);
    CHECK(!strcmp(r->response_headers.remove[0], "X-F"));

    r = &c->routes[1];
    CHECK_INT(r->match.path_kind, RP_PATH_EXACT);
    CHECK(!strcmp(r->match.path, "/old"));
    CHECK_INT(r->match.nmethods, 1);
    CHECK(!strcmp(r->match.methods[0], "POST"));
    CHECK_INT(r->action, RP_ACT_REDIRECT);
    CHECK_INT(r->redirect.status, 301);
    CHECK(!strcmp(r->redirect.location, "https://example.com$request_uri"));
    CHECK(r->strip_prefix == NULL);

    r = &c->routes[2];
    CHECK_INT(r->match.path_kind, RP_PATH_REGEX);
    CHECK(r->match.regex != NULL);
    CHECK(!strcmp(r->match.regex_src, "^/v[0-9]+/(a)(b)?"));
    CHECK_INT(r->redirect.status, 302);
    CHECK(!strcmp(r->redirect.location, "/elsewhere"));

    r = &c->routes[3];
    CHECK_INT(r->match.nhosts, 1);
    CHECK_INT(r->match.hosts[0].kind, RP_HOST_WILDCARD);
    CHECK(!strcmp(r->match.hosts[0].name, ""));
    CHECK_INT(r->action, RP_ACT_RESPOND);
    CHECK_INT(r->respond.status, 204);
    CHECK_MEM(r->respond.body, r->respond.body_len, "ok\n");
    CHECK(!strcmp(r->respond.content_type, "text/html"));

    r = &c->routes[4];
    CHECK_INT(r->action, RP_ACT_RESPOND);
    CHECK_INT(r->respond.status, 200);
    CHECK_INT(r->respond.body_len, 0);
    CHECK(!strcmp(r->respond.content_type, "text/plain; charset=utf-8"));
    CHECK_INT(r->match.path_kind, RP_PATH_ANY);
    CHECK_INT(r->match.nhosts, 0);

    r = &c->routes[5];
    CHECK_INT(r->action, RP_ACT_STATIC);
    CHECK(!strcmp(r->static_files.root, "/tmp"));
    CHECK(!strcmp(r->static_files.index, ""));
    r = &c->routes[6];
    CHECK(!strcmp(r->static_files.root, "/tmp"));
    CHECK(!strcmp(r->static_files.index, "index.html"));

    CHECK_INT(c->timeouts.header, 1000);
    CHECK_INT(c->timeouts.body, 2000);
    CHECK_INT(c->timeouts.keepalive, 3000);
    CHECK_INT(c->timeouts.send, 4000);
    CHECK_INT(c->timeouts.connect, 250);
    CHECK_INT(c->timeouts.backend_read, 300000);
    CHECK_INT(c->timeouts.upgrade_idle, 3600000);
    CHECK_INT(c->timeouts.drain, 0);
    CHECK_INT(c->limits.max_request_line, 4096);
    CHECK_INT(c->limits.max_header_size, 65536);
    CHECK_INT(c->limits.max_headers, 50);
    CHECK_INT(c->limits.max_body_size, 0);
    CHECK(c->proxy.trust_forwarded);
    CHECK(c->proxy.via);
    CHECK(!strcmp(c->proxy.server_header, ""));
    CHECK(!strcmp(c->log.access, "off"));
    CHECK_INT(c->log.format, RP_LOG_JSON);
    CHECK(!strcmp(c->log.error, "/tmp/err.log"));
    CHECK_INT(c->log.level, RP_LOG_DEBUG);

    /* describe must mention every route; spot-check a few lines */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rp_config_describe(c, f);
    fclose(f);
    CHECK(strstr(text, "rampart " RP_VERSION ": 3 workers\n") != NULL);
    CHECK(strstr(text, "listen   127.0.0.1:8080\n") != NULL);
    CHECK(strstr(text, "upstream app (round_robin, keepalive 8): 127.0.0.1:9001 w=5, "
                       "127.0.0.1:9002 w=1") != NULL);
    CHECK(strstr(text,
                 "route #1 host=example.com,*.example.org path_prefix=/api/ methods=GET,HEAD") !=
          NULL);
    CHECK(strstr(text, "route #7 (everything) -> static /tmp  (t.yaml:") != NULL);
    free(text);

    rp_config_ref(c);
    CHECK_INT(c->refs, 2);
    rp_config_unref(c);
    rp_config_unref(c);
    rp_cfg_errors_free(&errs);
}

static void test_defaults(void)
{
    struct rp_cfg_errors errs = {0};
    struct rp_config *c = load("listen: [\":8080\"]\nroutes: [{respond: {}}]\n", &errs);
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_INT(c->workers, 0);
    CHECK(!strcmp(c->listeners[0].addr.text, "0.0.0.0:8080"));
    CHECK(c->listeners[0].http2);
    CHECK(c->listeners[0].tls == NULL && c->listeners[0].redirect_https == NULL);
    CHECK_INT(c->listeners[0].hsts_max_age, 0);
    CHECK_INT(c->nupstreams, 0);
    CHECK_INT(c->timeouts.header, 10000);
    CHECK_INT(c->timeouts.body, 30000);
    CHECK_INT(c->timeouts.keepalive, 60000);
    CHECK_INT(c->timeouts.send, 30000);
    CHECK_INT(c->timeouts.connect, 5000);
    CHECK_INT(c->timeouts.backend_read, 60000);
    CHECK_INT(c->timeouts.upgrade_idle, 300000);
    CHECK_INT(c->timeouts.drain, 10000);
    CHECK_INT(c->limits.max_request_line, 8192);
    CHECK_INT(c->limits.max_header_size, 32768);
    CHECK_INT(c->limits.max_headers, 100);
    CHECK_INT(c->limits.max_body_size, 1073741824);
    CHECK(!c->proxy.trust_forwarded);
    CHECK(!c->proxy.via);
    CHECK(!strcmp(c->proxy.server_header, "rampart"));
    CHECK(!strcmp(c->log.access, "stdout"));
    CHECK_INT(c->log.format, RP_LOG_COMBINED);
    CHECK(!strcmp(c->log.error, "stderr"));
    CHECK_INT(c->log.level, RP_LOG_INFO);
    rp_config_unref(c);

    /* a single listen string and empty sections are accepted */
    c = load("listen: \"127.0.0.1:1\"\ntimeouts:\nroutes:\n  - respond: {status: 599}\n", &errs);
    CHECK(c != NULL);
    if (c)
        CHECK_INT(c->routes[0].respond.status, 599);
    rp_config_unref(c);
    CHECK_INT(errs.n, 0);
    rp_cfg_errors_free(&errs);
}

static void test_cli(void)
{
    struct rp_cfg_errors errs = {0};
    const char *to[] = {"127.0.0.1:9000", "[::1]:9001"};
    struct rp_config *c = rp_config_from_cli(":8081", to, 2, &errs);
    CHECK(c != NULL);
    if (c) {
        CHECK(c->file == NULL);
        CHECK_INT(c->nlisteners, 1);
        CHECK(!strcmp(c->listeners[0].addr.text, "0.0.0.0:8081"));
        CHECK_INT(c->nupstreams, 1);
        CHECK(!strcmp(c->upstreams[0].name, "default"));
        CHECK_INT(c->upstreams[0].nservers, 2);
        CHECK(!strcmp(c->upstreams[0].servers[1].addr.text, "[::1]:9001"));
        CHECK_INT(c->upstreams[0].servers[1].weight, 1);
        CHECK_INT(c->nroutes, 1);
        CHECK_INT(c->routes[0].action, RP_ACT_PROXY);
        CHECK(c->routes[0].upstream == &c->upstreams[0]);
        CHECK_INT(c->routes[0].match.path_kind, RP_PATH_ANY);
        CHECK_INT(c->timeouts.connect, 5000);
    }
    rp_config_unref(c);
    CHECK_INT(errs.n, 0);

    const char *bad[] = {"127.0.0.1:0", "x y:1"};
    c = rp_config_from_cli("nope", bad, 2, &errs);
    CHECK(c == NULL);
    CHECK_INT(errs.n, 3);
    if (errs.n == 3) {
        CHECK(!strcmp(errs.msgs[0],
                      "--listen nope: expected host:port, e.g. 127.0.0.1:8080 or :8080"));
        CHECK(!strcmp(errs.msgs[1], "--to 127.0.0.1:0: the port must be a number from 1 to 65535"));
    }
    rp_cfg_errors_free(&errs);
    c = rp_config_from_cli(NULL, NULL, 0, &errs);
    CHECK(c == NULL);
    CHECK_INT(errs.n, 1);
    rp_cfg_errors_free(&errs);
}

/* A minimal valid file around one variable part. */
#define HEAD "listen: [\":8080\"]\nupstreams: {app: {servers: [\"127.0.0.1:9001\"]}}\n"

struct bad_case {
    const char *yaml;
    const char *first; /* exact first error */
};

#define UP "upstreams: {app: {servers: [\"127.0.0.1:9001\"]}}\nroutes: [{proxy: app}]\n"

static const struct bad_case bad_cases[] = {
    {"listen: [{address: \":8443\", tls: {certificates: []}}]\n" UP,
     "t.yaml:1:49: certificates: between 1 and 64 entries are needed"},
    {"listen: [{address: \":8443\", tls: {certificates: [{cert: a.pem}]}}]\n" UP,
     "t.yaml:1:50: missing required key \"key\" in certificate (PEM file: the private key)"},
    {"listen: [{address: \":8443\", tls: {min_version: \"1.1\", certificates: [{cert: a, key: "
     "b}]}}]\n" UP,
     "t.yaml:1:48: min_version: expected one of 1.2, 1.3, got \"1.1\"; did you mean \"1.2\"?"},
    {"listen: [{address: \":8443\", tls: {certificates: [{cert: nope.pem, key: nope.key}]}}]\n" UP,
     "t.yaml:1:50: tls: cannot open certificate file ./nope.pem: No such file or directory"},
    {"listen: [{address: \":8443\", tls: {certificates: [{cert: a, key: b, names: "
     "[\"*\"]}]}}]\n" UP,
     "t.yaml:1:76: names: \"*\" is not a host name or \"*.domain\" wildcard"},
    {"listen: [{address: \":8080\", hsts: {max_age: 1h}}]\n" UP,
     "t.yaml:1:10: listen: hsts needs tls on the same listener"},
    {"listen: [{address: \":8080\", http2: maybe}]\n" UP,
     "t.yaml:1:36: http2: expected true or false, got \"maybe\""},
    {"lisen: [\":8080\"]\nroutes: [{proxy: app}]\n",
     "t.yaml:1:1: unknown key \"lisen\" in top level; did you mean \"listen\"?"},
    {HEAD "routes: [{proxy: app}]\ntimeouts: {header: 30}\n",
     "t.yaml:4:20: header: expected a duration like 250ms, 30s, 5m, got \"30\""},
    {HEAD "routes: [{proxy: app}]\ntimeouts: {connect: 2x}\n",
     "t.yaml:4:21: connect: expected a duration like 250ms, 30s, 5m, got \"2x\""},
    {HEAD "routes: [{proxy: app}]\nlimits:\n  max_body_size: 10q\n",
     "t.yaml:5:18: max_body_size: expected a size like 512, 16k, 1m, 1g, got \"10q\""},
    {HEAD "routes: [{proxy: app}]\nlimits: {max_headers: 0}\n",
     "t.yaml:4:23: max_headers: expected an integer from 1 to 10000, got \"0\""},
    {HEAD "routes: [{proxy: app}]\nlimits: {max_request_line: 1}\n",
     "t.yaml:4:28: max_request_line: must be at least 64"},
    {HEAD "routes:\n  - proxy: ap\n",
     "t.yaml:4:12: proxy: unknown upstream \"ap\"; did you mean \"app\"?"},
    {HEAD "routes:\n  - proxy: zzzzzz\n", "t.yaml:4:12: proxy: unknown upstream \"zzzzzz\""},
    {HEAD "routes:\n  - proxy: app\n    respond: {status: 200}\n",
     "t.yaml:5:14: route #1 has more than one action (\"proxy\" at line 4 and \"respond\"); keep "
     "exactly one"},
    {HEAD "routes:\n  - match: {path: /}\n",
     "t.yaml:4:5: route #1 has no action; add one of proxy, redirect, respond, static"},
    {HEAD "routes:\n  - match: {path_regex: \"^/(a\"}\n    proxy: app\n",
     "t.yaml:4:25: path_regex: invalid regular expression at offset 4: missing closing "
     "parenthesis"},
    {HEAD "routes: [{proxy: app}]\nworkers: 1\nworkers: 2\n",
     "t.yaml:5:1: duplicate key \"workers\" (first given at line 4)"},
    {HEAD "routes: [{proxy: app}\n", "t.yaml:4:1: YAML syntax error: did not find expected ',' or "
                                     "']' while parsing a flow sequence"},
    {HEAD "routes:\n  - proxy: app\n   bad: [\n",
     "t.yaml:5:4: YAML syntax error: did not find expected '-' indicator while parsing a block "
     "collection"},
    {"listen: [\":8080\"]\n", "t.yaml:1:1: missing required key \"routes\" in top level (a list "
                              "of routes, first match wins)"},
    {"", "t.yaml:1:1: the file is empty; it needs at least \"listen\" and \"routes\""},
    {"- a\n- b\n", "t.yaml:1:1: top level: expected a map, got a list"},
    {HEAD "routes: []\n", "t.yaml:3:9: routes: at least one route is needed"},
    {"listen: []\nroutes: [{respond: {}}]\n", "t.yaml:1:9: listen: at least one address is needed"},
    {"listen: [\"127.0.0.1:99999\"]\nroutes: [{respond: {}}]\n",
     "t.yaml:1:10: listen: bad address \"127.0.0.1:99999\": the port must be a number from 1 to "
     "65535"},
    {"listen: [{adress: \":80\"}]\nroutes: [{respond: {}}]\n",
     "t.yaml:1:11: unknown key \"adress\" in listen item; did you mean \"address\"?"},
    {"listen: [\":80\"]\nupstreams: {app: {}}\nroutes: [{proxy: app}]\n",
     "t.yaml:2:18: missing required key \"servers\" in upstream \"app\" (a list of backend "
     "addresses)"},
    {"listen: [\":80\"]\nupstreams: {app: {servers: [{address: \":1\", weight: 1001}]}}\n"
     "routes: [{proxy: app}]\n",
     "t.yaml:2:53: weight: expected an integer from 1 to 1000, got \"1001\""},
    {HEAD "routes:\n  - redirect: {status: 304, location: /x}\n    match: {host: a}\n",
     "t.yaml:4:24: status: a redirect status is 301, 302, 303, 307 or 308"},
    {HEAD "routes:\n  - redirect: {status: 301}\n",
     "t.yaml:4:15: missing required key \"location\" in redirect (the Location; $request_uri is "
     "replaced with the original target)"},
    {HEAD "routes:\n  - respond: {status: 600}\n",
     "t.yaml:4:23: status: expected an integer from 100 to 599, got \"600\""},
    {HEAD "routes:\n  - static: /nonexistent-rampart-dir\n",
     "t.yaml:4:13: root: cannot use \"/nonexistent-rampart-dir\": No such file or directory"},
    {HEAD "routes:\n  - static: {root: /etc/passwd}\n",
     "t.yaml:4:20: root: \"/etc/passwd\" is not a directory"},
    {HEAD "routes:\n  - match: {path: /a, path_prefix: /b}\n    proxy: app\n",
     "t.yaml:4:36: path_prefix: use only one of path, path_prefix and path_regex"},
    {HEAD "routes:\n  - match: {path: a}\n    proxy: app\n",
     "t.yaml:4:19: path: must start with \"/\""},
    {HEAD "routes:\n  - match: {host: \"a.*.com\"}\n    proxy: app\n",
     "t.yaml:4:19: host: \"a.*.com\": a wildcard is only allowed as a leading \"*.\""},
    {HEAD "routes:\n  - match: {host: \"a.com:80\"}\n    proxy: app\n",
     "t.yaml:4:19: host: \"a.com:80\": leave the port out (hosts match any port)"},
    {HEAD "routes:\n  - match: {methods: [GET], method: PUT}\n    proxy: app\n",
     "t.yaml:4:37: method: use only one of method and methods"},
    {HEAD "routes:\n  - match: {methods: [\"G T\"]}\n    proxy: app\n",
     "t.yaml:4:23: methods: \"G T\" is not a valid method name"},
    {HEAD "routes:\n  - match: {headers: {\"X A\": b}}\n    proxy: app\n",
     "t.yaml:4:23: headers: \"X A\" is not a valid header name"},
    {HEAD "routes:\n  - proxy: app\n    request_headers: {set: {X-A: \"a\\r\\nb\"}}\n",
     "t.yaml:5:34: set: a header value must not contain CR or LF"},
    {HEAD "routes:\n  - proxy: app\n    strip_prefix: api\n",
     "t.yaml:5:19: strip_prefix: must start with \"/\""},
    {HEAD "routes: [{proxy: app}]\nlog: {level: verbose}\n",
     "t.yaml:4:14: level: expected one of error, warn, info, debug, got \"verbose\""},
    {HEAD "routes: [{proxy: app}]\nlog: {level: inf}\n",
     "t.yaml:4:14: level: expected one of error, warn, info, debug, got \"inf\"; did you mean "
     "\"info\"?"},
    {HEAD "routes: [{proxy: app}]\nproxy: {via: yes}\n",
     "t.yaml:4:14: via: expected true or false, got \"yes\""},
    {HEAD "routes: [{proxy: app}]\nproxy: {server_header: }\n",
     "t.yaml:4:24: server_header: expected a string, got nothing (null)"},
    {HEAD "routes: [{proxy: app}]\ntimeouts: [1s]\n",
     "t.yaml:4:11: timeouts: expected a map, got a list"},
    {HEAD "routes: [{proxy: app}]\nx: &a 1\ny: *a\n",
     "t.yaml:5:4: YAML aliases (*a) are not supported"},
    {HEAD "routes: [{proxy: app}]\nx: 1\n",
     "t.yaml:4:1: unknown key \"x\" in top level; expected one of: workers, listen, upstreams, "
     "routes, timeouts, limits, proxy, log, http2, resolver"},
    {HEAD "routes: [{proxy: app}]\n---\nworkers: 1\n",
     "t.yaml:4:1: only one YAML document is allowed in a config file"},
    {HEAD "routes: [{proxy: app}]\n{a: 1}: 2\n",
     "t.yaml:4:1: map keys must be plain strings, not a map"},
    {HEAD "routes:\n  - {proxy: app, mach: {}}\n",
     "t.yaml:4:18: unknown key \"mach\" in route #1; did you mean \"match\"?"},
    {HEAD "routes:\n  - proxy: app\n    match: {hots: a}\n",
     "t.yaml:5:13: unknown key \"hots\" in match of route #1; did you mean \"host\"?"},
};

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct rp_cfg_errors errs = {0};
        struct rp_config *c = load(bad_cases[i].yaml, &errs);
        CHECK(c == NULL);
        rp_config_unref(c);
        CHECK(errs.n > 0);
        const char *got = errs.n ? errs.msgs[0] : "(none)";
        t_checks++;
        if (strcmp(got, bad_cases[i].first) != 0) {
            t_failures++;
            fprintf(stderr, "bad case %zu:\n  got      %s\n  expected %s\n", i, got,
                    bad_cases[i].first);
        }
        rp_cfg_errors_free(&errs);
    }
}

static void test_many_errors(void)
{
    struct rp_cfg_errors errs = {0};
    const char *yaml = "lisen: [\":8080\"]\n"
                       "upstreams: {app: {servers: [\"127.0.0.1:0\"], keepalive: -1}}\n"
                       "routes:\n"
                       "  - proxy: nope\n"
                       "timeouts: {header: 5}\n";
    struct rp_config *c = load(yaml, &errs);
    CHECK(c == NULL);
    CHECK_INT(errs.n, 5);
    if (errs.n == 5) {
        CHECK(!strncmp(errs.msgs[0], "t.yaml:1:1: unknown key \"lisen\"", 31));
        CHECK(!strncmp(errs.msgs[1], "t.yaml:2:29: server: bad address", 32));
        CHECK(!strncmp(errs.msgs[2], "t.yaml:2:56: keepalive: expected an integer", 43));
        CHECK(!strncmp(errs.msgs[3], "t.yaml:4:12: proxy: unknown upstream \"nope\"", 43));
        CHECK(!strncmp(errs.msgs[4], "t.yaml:5:20: header: expected a duration", 40));
    }
    rp_cfg_errors_free(&errs);

    /* a flood of errors is capped, with a closing note */
    char big[8192];
    size_t o = (size_t)snprintf(big, sizeof(big), "listen: [\":1\"]\nroutes:\n");
    for (int i = 0; i < 120; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "  - {}\n");
    c = load(big, &errs);
    CHECK(c == NULL);
    CHECK_INT(errs.n, 51);
    if (errs.n == 51) {
        CHECK(!strcmp(errs.msgs[0],
                      "t.yaml:3:5: route #1 has no action; add one of proxy, redirect, respond, "
                      "static"));
        CHECK(!strcmp(errs.msgs[50], "too many errors; only the first 50 are shown"));
    }
    rp_cfg_errors_free(&errs);
}

static void test_files(void)
{
    struct rp_cfg_errors errs = {0};
    CHECK(rp_config_load_file("/nonexistent/rampart.yaml", &errs) == NULL);
    CHECK_INT(errs.n, 1);
    if (errs.n)
        CHECK(!strcmp(errs.msgs[0],
                      "/nonexistent/rampart.yaml: cannot open: No such file or directory"));
    rp_cfg_errors_free(&errs);

    /* relative static roots resolve against the file's directory */
    char dir[] = "/tmp/rp_cfg_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64], www[64];
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    snprintf(www, sizeof(www), "%s/www", dir);
    CHECK(mkdir(www, 0700) == 0);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("listen: [\"127.0.0.1:8080\"]\nroutes:\n  - static: www\n", f);
    fclose(f);
    struct rp_config *c = rp_config_load_file(path, &errs);
    CHECK(c != NULL);
    if (c)
        CHECK(!strcmp(c->routes[0].static_files.root, www));
    rp_config_unref(c);

    char *text = NULL;
    size_t len = 0;
    f = open_memstream(&text, &len);
    CHECK_INT(rp_config_check_main(path, f), 0);
    fclose(f);
    char want[128];
    snprintf(want, sizeof(want), "%s: configuration OK\nrampart ", path);
    CHECK(!strncmp(text, want, strlen(want)));
    free(text);

    f = fopen(path, "w");
    fputs("listen: [\"127.0.0.1:8080\"]\nroutes:\n  - static: nothere\n  - proxy: x\n", f);
    fclose(f);
    f = open_memstream(&text, &len);
    CHECK_INT(rp_config_check_main(path, f), 1);
    fclose(f);
    CHECK(strstr(text, "c.yaml:3:13: root: cannot use") != NULL);
    CHECK(strstr(text, "c.yaml:4:12: proxy: unknown upstream \"x\"; no upstreams are defined\n") !=
          NULL);
    free(text);
    unlink(path);
    rmdir(www);
    rmdir(dir);
}

/* upstream protocol and h2_max_streams (HTTP/2 to backends) */
#define UP_HEAD "listen: [\":8080\"]\nroutes: [{respond: {}}]\nupstreams:\n"

static void test_upstream_protocol(void)
{
    struct rp_cfg_errors errs = {0};
    struct rp_config *c =
        load(UP_HEAD "  a: {servers: [\"127.0.0.1:1\"], protocol: h2c, h2_max_streams: 7}\n"
                     "  b: {servers: [\"127.0.0.1:2\"], protocol: http1}\n"
                     "  c: {servers: [\"127.0.0.1:3\"]}\n",
             &errs);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(c->upstreams[0].protocol, RP_UP_H2C);
        CHECK_INT(c->upstreams[0].h2_max_streams, 7);
        CHECK_INT(c->upstreams[1].protocol, RP_UP_HTTP1);
        CHECK_INT(c->upstreams[2].protocol, RP_UP_HTTP1);
        CHECK_INT(c->upstreams[2].h2_max_streams, 100);
    }
    rp_config_unref(c);
    rp_cfg_errors_free(&errs);
    c = load(UP_HEAD "  a: {servers: [\"127.0.0.1:1\"], protocol: h2}\n", &errs);
    CHECK(c == NULL);
    CHECK(errs.n == 1 && strstr(errs.msgs[0], "protocol h2 needs tls") != NULL);
    rp_cfg_errors_free(&errs);
    c = load(UP_HEAD "  a: {servers: [\"127.0.0.1:1\"], protocol: h3}\n", &errs);
    CHECK(c == NULL && errs.n == 1);
    rp_cfg_errors_free(&errs);
}

/* The load-balancing keys: values, defaults, resolve slots, and errors with positions. */
static void test_upstream_lb(void)
{
    struct rp_cfg_errors errs = {0};
    struct rp_config *c = load(
        UP_HEAD "  a:\n"
                "    balance: least_conn\n"
                "    sticky: {cookie: srv, max_age: 1h, secure: true}\n"
                "    servers:\n"
                "      - {address: \"127.0.0.1:1\", weight: 3, max_conns: 10, slow_start: 30s}\n"
                "      - {address: \"127.0.0.1:2\", backup: true, drain: true}\n"
                "    health_check: {type: http, path: /hz, status: [204, \"2xx\", \"300-302\"],\n"
                "                   body: ok, interval: 200ms, timeout: 100ms, rise: 4, fall: 5}\n"
                "    outlier: {failures: 7, base_ejection: 1s, max_ejection: 4s, max_ejected: 30}\n"
                "    retries: {tries: 4, try_timeout: 2s, budget: 10, budget_min: 1}\n"
                "    queue: {size: 9, timeout: 3s}\n"
                "    retry_after: 8s\n"
                "  b: {servers: [\"localhost:3\"], balance: hash, hash_key: \"header:X-User\",\n"
                "      resolve: 3, retries: 2, outlier: false, health_check: {type: tcp}}\n"
                "  c: {servers: [\"127.0.0.1:4\"]}\n"
                "resolver: {servers: [\"127.0.0.1:5353\", \"::1\"], min_interval: 200ms}\n",
        &errs);
    CHECK(c != NULL);
    if (c) {
        const struct rp_upstream_conf *a = &c->upstreams[0], *b = &c->upstreams[1],
                                      *d = &c->upstreams[2];
        CHECK(strcmp(a->balancer->name, "least_conn") == 0);
        CHECK(a->sticky.cookie && !strcmp(a->sticky.cookie, "srv"));
        CHECK_INT(a->sticky.max_age, 3600);
        CHECK(a->sticky.secure && a->sticky.httponly);
        CHECK_INT(a->servers[0].weight, 3);
        CHECK_INT(a->servers[0].max_conns, 10);
        CHECK_INT(a->servers[0].slow_start, 30000);
        CHECK(a->servers[1].backup && a->servers[1].drain && !a->servers[0].backup);
        CHECK(a->health && a->health->type == RP_HC_HTTP && !strcmp(a->health->path, "/hz"));
        CHECK(a->health && a->health->nstatus == 3 && a->health->status[1].lo == 200 &&
              a->health->status[1].hi == 299 && a->health->status[2].hi == 302);
        CHECK(a->health && a->health->interval == 200 && a->health->rise == 4 &&
              a->health->fall == 5 && !strcmp(a->health->body, "ok"));
        CHECK_INT(a->outlier.failures, 7);
        CHECK_INT(a->outlier.max_ejection, 4000);
        CHECK_INT(a->retries.tries, 4);
        CHECK_INT(a->retries.try_timeout, 2000);
        CHECK_INT(a->queue.size, 9);
        CHECK_INT(a->queue.timeout, 3000);
        CHECK_INT(a->retry_after, 8000);
        CHECK(a->rt != NULL && a->servers[0].rt != NULL && a->servers[0].rt != a->servers[1].rt);
        CHECK(strcmp(b->balancer->name, "hash") == 0 && b->hash_key.kind == RP_HK_HEADER);
        CHECK(b->hash_key.name && !strcmp(b->hash_key.name, "X-User"));
        CHECK_INT(b->nservers, 3); /* one name, three resolve slots */
        CHECK(b->servers[0].resolve && b->servers[2].slot == 2 && b->servers[1].port == 3);
        CHECK(b->servers[0].addr.len > 0); /* localhost resolved at load */
        CHECK_INT(b->retries.tries, 2);
        CHECK_INT(b->outlier.failures, 0);
        CHECK(b->health && b->health->type == RP_HC_TCP);
        /* defaults */
        CHECK(strcmp(d->balancer->name, "round_robin") == 0 && d->health == NULL);
        CHECK_INT(d->retries.tries, 3);
        CHECK_INT(d->retries.budget, 20);
        CHECK_INT(d->outlier.failures, 5);
        CHECK_INT(d->hash_balance, 125);
        CHECK_INT(d->retry_after, 5000);
        CHECK_INT(c->resolver.nservers, 2);
        CHECK_INT(c->resolver.min_interval, 200);
        CHECK(strstr(c->resolver.servers[1].text, ":53") != NULL);
    }
    rp_config_unref(c);
    rp_cfg_errors_free(&errs);
    /* with resolve:, a name unknown at load waits for DNS in empty slots */
    c = load(UP_HEAD "  a: {servers: [\"nonexistent.invalid:80\"], resolve: 2}\n", &errs);
    CHECK(c != NULL);
    if (c)
        CHECK(c->upstreams[0].nservers == 2 && c->upstreams[0].servers[1].port == 80 &&
              c->upstreams[0].servers[0].addr.len == 0);
    rp_config_unref(c);
    rp_cfg_errors_free(&errs);

    static const struct {
        const char *yaml, *want;
    } bad[] = {
        {"  a: {servers: [\"127.0.0.1:1\"], balance: fastest}\n",
         "t.yaml:4:42: balance: unknown balancer \"fastest\"; expected one of round_robin, random"},
        {"  a: {servers: [\"127.0.0.1:1\"], health_check: {status: [\"6xx\"]}}\n",
         "t.yaml:4:57: status: expected a status"},
        {"  a: {servers: [{address: \"127.0.0.1:1\", backup: true}]}\n",
         "every server is a backup"},
        {"  a: {servers: [\"127.0.0.1:1\"], hash_key: path}\n", "hash_key is used only by"},
        {"  a: {servers: [\"127.0.0.1:1\"], hash_key: \"header:\"}\n", "hash_key: expected ip"},
        {"  a: {servers: [\"127.0.0.1:1\"], resolve: 4}\n", "no server is given by host name"},
        {"  a: {servers: [\"127.0.0.1:1\"], health_check: {path: nope}}\n", "must start with /"},
        {"  a: {servers: [\"127.0.0.1:1\"], retries: {tries: 0}}\n", "tries"},
        {"  a: {servers: [\"127.0.0.1:1\"], sticky: \"a b\"}\n", "not a valid cookie name"},
        {"  a: {servers: [\"nonexistent.invalid:80\"]}\n",
         "t.yaml:4:17: server: bad address \"nonexistent.invalid:80\": cannot resolve"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char yaml[512];
        snprintf(yaml, sizeof(yaml), "%s%s", UP_HEAD, bad[i].yaml);
        c = load(yaml, &errs);
        bool ok = c == NULL && errs.n >= 1 && strstr(errs.msgs[0], bad[i].want) != NULL;
        if (!ok)
            fprintf(stderr, "bad lb case %zu: got %s\n", i, errs.n ? errs.msgs[0] : "(none)");
        CHECK(ok);
        rp_config_unref(c);
        rp_cfg_errors_free(&errs);
    }
}

/* routes[].compress: true, a map, and its errors. */
static void test_route_compress(void)
{
    struct rp_cfg_errors errs = {0};
    struct rp_config *c = load("listen: [\":8080\"]\nupstreams: {a: {servers: [\"127.0.0.1:1\"]}}\n"
                               "routes:\n"
                               "  - {match: {path_prefix: /x}, proxy: a, compress: true}\n"
                               "  - {match: {path_prefix: /y}, proxy: a, compress: {encodings: "
                               "[gzip, br], min_length: 1k,\n"
                               "     types: [\"Text/*\", application/json], gzip_level: 9}}\n"
                               "  - {proxy: a, compress: false}\n",
                               &errs);
    CHECK(c != NULL);
    if (c) {
        const struct rp_compress_conf *z = c->routes[0].compress;
        CHECK(z && z->nprefer == 3 && z->prefer[0] == 3 && z->min_length == 256 && z->ntypes > 10);
        z = c->routes[1].compress;
        CHECK(z && z->nprefer == 2 && z->prefer[0] == 1 && z->prefer[1] == 2);
        CHECK(z && z->min_length == 1024 && z->ntypes == 2 && !strcmp(z->types[0], "text/*"));
        CHECK(z && z->level[1] == 9);
        CHECK(c->routes[2].compress == NULL);
    }
    rp_config_unref(c);
    rp_cfg_errors_free(&errs);
    c = load("listen: [\":8080\"]\nupstreams: {a: {servers: [\"127.0.0.1:1\"]}}\n"
             "routes: [{proxy: a, compress: {encodings: [gzip, lz4], types: [html]}}]\n",
             &errs);
    CHECK(c == NULL && errs.n == 2);
    if (errs.n == 2) {
        CHECK(strstr(errs.msgs[0], "expected gzip, br or zstd, got \"lz4\"") != NULL);
        CHECK(strstr(errs.msgs[1], "expected a media type") != NULL);
    }
    rp_cfg_errors_free(&errs);
}

int main(void)
{
    RUN(test_full);
    RUN(test_defaults);
    RUN(test_cli);
    RUN(test_bad);
    RUN(test_many_errors);
    RUN(test_files);
    RUN(test_upstream_protocol);
    RUN(test_upstream_lb);
    RUN(test_route_compress);
    TEST_MAIN_END();
}
