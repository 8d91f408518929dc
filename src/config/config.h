/* The configuration snapshot: everything a worker needs to serve, built whole from a YAML file
 * (or from the command line) and never changed after. Workers hold a reference; a reload builds a
 * new snapshot and swaps the pointer, and the old one is freed when its last exchange ends.
 * All memory of a snapshot (strings, arrays, compiled regexes) belongs to it. */
#ifndef RP_CONFIG_CONFIG_H
#define RP_CONFIG_CONFIG_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "core/slice.h"

/* Durations are milliseconds, sizes bytes. */

struct rp_sockaddr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[64]; /* "127.0.0.1:9001" / "[::1]:9001", for logs (never sent to clients) */
};

struct rp_tls_server;

/* One certificate of a TLS listener (src/tls/). */
struct rp_tls_cert_conf {
    const char *cert;     /* PEM chain file */
    const char *key;      /* PEM private key file */
    const char *password; /* for an encrypted key, or NULL */
    const char *ocsp;     /* DER OCSP response file to staple (reloaded when it changes), or NULL */
    const char **names;   /* SNI names (exact or "*.example.com"); NULL: the certificate's SANs */
    uint32_t nnames;
    const char *where; /* "file:line:col" of the entry, for errors found after loading */
};

enum rp_client_auth { RP_CLIENT_AUTH_OFF, RP_CLIENT_AUTH_OPTIONAL, RP_CLIENT_AUTH_REQUIRED };

/* listen: [ {address, tls: {...}} ]: TLS termination. The first certificate is the default one
 * (no SNI or no match). */
struct rp_tls_listener_conf {
    struct rp_tls_cert_conf *certs;
    uint32_t ncerts;
    int min_version, max_version; /* TLS1_2_VERSION / TLS1_3_VERSION (default 1.2 .. 1.3) */
    const char *ciphers;          /* TLS 1.2 cipher list (default: ECDHE with AEAD only) */
    const char *ciphersuites;     /* TLS 1.3 suites (default: OpenSSL's) */
    const char *curves;           /* groups (default "X25519:P-256:P-384") */
    bool session_tickets;         /* default true */
    uint64_t ticket_rotate;       /* ms between ticket key rotations (default 12h) */
    uint32_t session_cache;       /* server-side session cache entries (default 20480; 0 off) */
    struct {
        enum rp_client_auth mode;
        const char *ca;                 /* CA file for client certificates */
        const char *subject_header;     /* default "X-Client-Cert-Subject" */
        const char *fingerprint_header; /* default "X-Client-Cert-Fingerprint" (SHA-256 hex) */
    } client_auth;
    struct rp_tls_server *server; /* the contexts built at load (src/tls/tls_server.h); the
                                     snapshot holds one reference */
};

struct rp_listener_conf {
    struct rp_sockaddr addr;
    const char *name;                 /* the address as written */
    struct rp_tls_listener_conf *tls; /* NULL: plain TCP */
    bool http2;                       /* h2 via ALPN (TLS) or prior knowledge (h2c); default on */
    const char *redirect_https;       /* plain listener: 308 every request to this https authority
                                         ("" = the request's host, default port); NULL off */
    uint64_t hsts_max_age; /* TLS listener: Strict-Transport-Security max-age, s; 0 off */
    bool hsts_subdomains, hsts_preload;
};

struct rp_server_rt;
struct rp_upstream_rt;
struct rp_balancer;

struct rp_server_conf {
    struct rp_sockaddr addr; /* resolve slots: the address at load (or none); the live one is
                                in rt (rp_server_addr in src/lb/server_state.h) */
    uint32_t weight;         /* default 1 */
    const char *host;        /* the host as written when it is a name (not an IP literal), else
                                NULL: the default TLS server name */
    uint32_t max_conns;      /* in-flight requests over all workers; 0 = unlimited */
    uint64_t slow_start;     /* ms over which the weight ramps up after coming back; 0 off */
    bool backup;             /* used only when no primary server is usable */
    bool drain;              /* admin state at load: no new requests */
    uint16_t port;           /* resolve slots: the port to pair with resolved addresses */
    bool resolve;            /* a slot of a re-resolved host name (src/lb/resolver.c) */
    uint32_t slot;           /* resolve slots: 0..resolve_slots-1 within its name */
    const char *where;       /* "file:line:col" of the server item, for logs */
    char sticky_id[17];      /* sticky: its cookie value (src/lb/sticky.c), set at load */
    struct rp_server_rt *rt; /* shared runtime state (src/lb/server_state.h), set at load */
};

/* upstreams.NAME.health_check: active checks (src/lb/health.c). */
enum rp_health_type { RP_HC_HTTP, RP_HC_TCP };
struct rp_status_range {
    uint16_t lo, hi;
};
struct rp_health_conf {
    enum rp_health_type type; /* default http */
    const char *method;       /* default "GET" */
    const char *path;         /* default "/" */
    const char *host;         /* Host header; NULL: host_header, else the server's host or IP */
    struct rp_status_range *status; /* accepted statuses; default 200-399 */
    uint32_t nstatus;
    const char *body;  /* substring the body must contain (first 64 KiB), or NULL */
    uint64_t interval; /* ms between checks of one server (default 5s) */
    uint64_t timeout;  /* ms for one check (default 2s) */
    uint32_t jitter;   /* percent of interval added at random, 0..100 (default 10) */
    uint32_t rise;     /* consecutive passes to come up (default 2) */
    uint32_t fall;     /* consecutive failures to go down (default 3) */
};

/* upstreams.NAME.outlier: passive checks and ejection. */
struct rp_outlier_conf {
    uint32_t failures;      /* consecutive failures (connect, timeout, 5xx) to eject; 0 off (5) */
    uint64_t base_ejection; /* ms; doubles with each repeated ejection (default 10s) */
    uint64_t max_ejection;  /* ms cap (default 300s) */
    uint32_t max_ejected;   /* percent of the upstream's servers ejected at once (default 50;
                               at least one server may always be ejected) */
};

/* upstreams.NAME.retries */
struct rp_retry_conf {
    uint32_t tries;       /* attempts per request including the first (default 3) */
    uint64_t try_timeout; /* ms to a response head per attempt; 0 = timeouts.backend_read */
    uint32_t budget;      /* retries at most this percent of requests, over 10-20 s (20) */
    uint32_t budget_min;  /* ... plus this many retries per second (default 3) */
};

/* upstreams.NAME.hash_key: what `hash` (and sticky fallback) hashes. */
enum rp_hash_key_kind { RP_HK_IP, RP_HK_HEADER, RP_HK_COOKIE, RP_HK_QUERY, RP_HK_PATH };
struct rp_hash_key_conf {
    enum rp_hash_key_kind kind; /* default ip */
    const char *name;           /* header, cookie or query parameter name */
};

/* upstreams.NAME.sticky: session affinity by cookie (src/lb/sticky.c). */
struct rp_sticky_conf {
    const char *cookie;    /* cookie name; NULL = off */
    const char *secret;    /* HMAC key of the ids; NULL = random per process */
    uint64_t max_age;      /* s; 0 = a session cookie */
    const char *path;      /* default "/" */
    bool secure, httponly; /* httponly default true */
};

enum rp_upstream_protocol {
    RP_UP_HTTP1, /* default */
    RP_UP_H2,    /* HTTP/2 over TLS (ALPN h2): needs tls */
    RP_UP_H2C,   /* HTTP/2 over cleartext (prior knowledge) */
};

/* upstreams.NAME.tls: TLS to the servers (src/tls/). */
struct rp_tls_upstream_conf {
    const char *sni;  /* server name to send and to verify; default: the host of host_header
                         or of the server address when it is a name; NULL = none */
    bool verify;      /* verify the chain and the name (default true) */
    const char *ca;   /* CA bundle file (default: the system store) */
    const char *cert; /* client certificate (mTLS to the backend), or NULL */
    const char *key;
    const char *where; /* "file:line:col", for errors */
    void *ctx;         /* SSL_CTX *, built at load (src/tls/tls_client.c), freed with the
                          snapshot */
    uint64_t id;       /* hash of the settings above: pooled connections and cached sessions are
                          shared only between upstreams with equal settings */
};

struct rp_upstream_conf {
    const char *name;
    struct rp_server_conf *servers;
    uint32_t nservers;
    const char *host_header;    /* NULL: pass the client's Host through; else send this Host */
    uint32_t keepalive;         /* idle pooled connections per worker per server (default 32) */
    uint64_t keepalive_timeout; /* idle pooled connection lifetime, ms (default 60000) */
    uint32_t index;             /* position in rp_config.upstreams */
    struct rp_tls_upstream_conf *tls; /* NULL: plain TCP */
    enum rp_upstream_protocol protocol;
    uint32_t h2_max_streams; /* h2/h2c: concurrent streams per backend connection (default 100) */

    /* load balancing (src/lb/) */
    const struct rp_balancer *balancer; /* `balance:`, default round_robin */
    struct rp_hash_key_conf hash_key;
    uint32_t hash_balance; /* bounded loads: no server above this percent of the mean load;
                              0 = unbounded (default 125) */
    struct rp_sticky_conf sticky;
    struct rp_health_conf *health; /* NULL: no active checks (servers count as up) */
    struct rp_outlier_conf outlier;
    struct rp_retry_conf retries;
    struct rp_queue_conf {
        uint32_t size;    /* requests waiting per worker when every server is at max_conns (0) */
        uint64_t timeout; /* ms before a waiting request gets 503 (default 10s) */
    } queue;
    uint64_t retry_after; /* ms; Retry-After (in s, rounded up) of the 503 when no server is usable
                             (5s) */
    uint32_t resolve_slots;    /* host names are re-resolved: server slots per name (default 0 =
                                  resolved once at load; set by `resolve:`) */
    struct rp_upstream_rt *rt; /* shared runtime state (src/lb/server_state.h), set at load */
};

/* Header edits applied to a request before proxying or to a response before sending. */
struct rp_header_kv {
    const char *name;
    const char *value;
};
struct rp_header_ops {
    struct rp_header_kv *set; /* replace all instances (or add) */
    uint32_t nset;
    struct rp_header_kv *add; /* append */
    uint32_t nadd;
    const char **remove; /* remove all instances */
    uint32_t nremove;
};

enum rp_host_match_kind { RP_HOST_EXACT, RP_HOST_WILDCARD /* "*.example.com" */ };
struct rp_host_match {
    enum rp_host_match_kind kind;
    const char *name; /* lowercase; for wildcard the suffix including the dot: ".example.com" */
};

enum rp_path_match_kind { RP_PATH_ANY = 0, RP_PATH_EXACT, RP_PATH_PREFIX, RP_PATH_REGEX };

struct rp_route_match {
    struct rp_host_match *hosts; /* any of them; none = any host */
    uint32_t nhosts;
    enum rp_path_match_kind path_kind;
    const char *path; /* exact path or prefix */
    void *regex;      /* pcre2_code * for RP_PATH_REGEX */
    const char *regex_src;
    const char **methods; /* any of them; none = any method */
    uint32_t nmethods;
    struct rp_header_kv *headers; /* all must match: value "*" = present, else exact value */
    uint32_t nheaders;
};

enum rp_action_kind { RP_ACT_PROXY, RP_ACT_REDIRECT, RP_ACT_RESPOND, RP_ACT_STATIC };

struct rp_static_conf {
    const char *root;  /* absolute, no trailing slash */
    const char *index; /* default "index.html"; NULL or "" = none */
};

/* routes[].compress: on-the-fly compression of proxied responses (src/filter/). */
struct rp_compress_conf {
    uint8_t prefer[3]; /* enum rp_coding, most preferred first (default zstd, br, gzip) */
    uint32_t nprefer;
    int level[4];        /* per enum rp_coding; 0 = the coding's default */
    uint64_t min_length; /* smaller bodies (by Content-Length) are sent as they are (256) */
    const char **types;  /* media types, lowercase; "text/" + "*" covers the subtypes */
    uint32_t ntypes;
};

struct rp_route {
    uint32_t index;   /* position in file order, for logs */
    const char *file; /* where it was declared */
    int line;
    struct rp_route_match match;
    enum rp_action_kind action;
    const struct rp_upstream_conf *upstream; /* RP_ACT_PROXY */
    struct {
        int status;           /* 301, 302, 303, 307, 308; default 302 */
        const char *location; /* "$request_uri" in it is replaced with the original target */
    } redirect;
    struct {
        int status;
        const char *body;
        size_t body_len;
        const char *content_type; /* default "text/plain; charset=utf-8" */
    } respond;
    struct rp_static_conf static_files;
    const char *strip_prefix; /* removed from the path before the handler, if present */
    const char *add_prefix;   /* prepended after strip_prefix */
    struct rp_header_ops request_headers;
    struct rp_header_ops response_headers;
    const struct rp_compress_conf *compress; /* NULL: off */
};

enum rp_log_format { RP_LOG_COMBINED, RP_LOG_JSON };

/* Something a snapshot owns outside its arena (an SSL_CTX, ...): fn(arg) runs when the snapshot
 * is freed, last registered first. */
struct rp_cfg_cleanup {
    void (*fn)(void *arg);
    void *arg;
    struct rp_cfg_cleanup *next;
};

struct rp_config {
    atomic_int refs;
    void *arena;      /* owner of all the memory below */
    const char *file; /* NULL for a command-line config */
    struct rp_cfg_cleanup *cleanups;

    uint32_t workers; /* 0 = CPU count */

    struct rp_listener_conf *listeners;
    uint32_t nlisteners;
    struct rp_upstream_conf *upstreams;
    uint32_t nupstreams;
    struct rp_route *routes;
    uint32_t nroutes;

    struct {
        uint64_t header;       /* client head must complete within this: 408 (default 10s) */
        uint64_t body;         /* max gap between client body reads: 408 (default 30s) */
        uint64_t keepalive;    /* idle client keep-alive connection closed after (default 60s) */
        uint64_t send;         /* client not accepting data for this long: close (default 30s) */
        uint64_t connect;      /* backend connect: 502 (default 5s) */
        uint64_t backend_read; /* gap while waiting on backend response bytes: 504 (default 60s) */
        uint64_t upgrade_idle; /* tunnel (WebSocket) with no traffic either way (default 300s) */
        uint64_t drain;        /* graceful shutdown: in-flight exchanges get this long (10s) */
    } timeouts;

    struct {
        uint32_t max_concurrent_streams; /* per client connection (default 100) */
        uint32_t initial_window;         /* per stream receive window, bytes (default 64k) */
        uint32_t max_resets;             /* client stream resets per 10 s before GOAWAY (200) */
    } http2;

    struct {
        uint64_t max_request_line; /* 414 (default 8k) */
        uint64_t max_header_size;  /* 431 (default 32k) */
        uint32_t max_headers;      /* 431 (default 100) */
        uint64_t max_body_size;    /* 413; 0 = unlimited (default 1g) */
    } limits;

    struct {
        struct rp_sockaddr *servers; /* DNS servers; default those of /etc/resolv.conf */
        uint32_t nservers;
        uint64_t min_interval; /* ms: re-resolve no more often than this, whatever the TTL (1s) */
        uint64_t max_interval; /* ms: ... and at least this often (default 60s) */
        uint64_t timeout;      /* ms per query (default 2s) */
    } resolver;

    struct {
        bool trust_forwarded;      /* keep incoming X-Forwarded-* / Forwarded and append to them */
        bool via;                  /* add Via: 1.1 rampart (default false) */
        const char *server_header; /* Server value on responses; "" = omit (default "rampart") */
    } proxy;

    struct {
        const char *access;        /* "stdout", "off", or a file path (default "stdout") */
        enum rp_log_format format; /* default combined */
        const char *error;         /* "stderr" or a file path */
        int level;                 /* RP_LOG_ERROR..RP_LOG_DEBUG (default info) */
    } log;
};

/* Errors collected while loading: each is "file:line:col: message". */
struct rp_cfg_errors {
    char **msgs;
    uint32_t n;
    uint32_t cap;
};

/* Load and validate a YAML config file. On success returns a snapshot with refs == 1. On
 * failure returns NULL and appends every error found (up to a cap) to errs. Thread: any; does
 * not touch global state. */
struct rp_config *rp_config_load_file(const char *path, struct rp_cfg_errors *errs);

/* Same, from a memory buffer (fuzzing, tests); name is used as the file in messages. */
struct rp_config *rp_config_load_buffer(const char *name, const char *data, size_t len,
                                        struct rp_cfg_errors *errs);

/* Build a snapshot from the zero-config command line: one listener, one upstream "default"
 * with the given servers round robin, one route proxying everything. NULL + errs on bad
 * addresses. */
struct rp_config *rp_config_from_cli(const char *listen, const char *const *to, uint32_t nto,
                                     struct rp_cfg_errors *errs);

/* Parse "127.0.0.1:8080", ":8080" (all IPv4), "[::1]:8080", "localhost:8080" (resolved now).
 * Returns 0 or -1 with a reason in *why. */
int rp_sockaddr_parse(const char *text, struct rp_sockaddr *out, const char **why);
/* The *why of rp_sockaddr_parse for a well-formed host name that does not resolve now. */
extern const char rp_sockaddr_unresolved[];
/* Every address of host (system resolver, now), with port, at most max, without duplicates;
 * returns how many (0 when it does not resolve). */
int rp_sockaddr_resolve_all(const char *host, uint16_t port, struct rp_sockaddr *out, int max);

void rp_config_ref(struct rp_config *c);
/* Drops a reference; frees the snapshot when it was the last. Any thread. */
void rp_config_unref(struct rp_config *c);

void rp_cfg_errors_free(struct rp_cfg_errors *errs);

/* Register fn(arg) to run when c is freed (while it is being built, or on its last unref).
 * Returns 0, or -1 when out of memory (fn was then not registered: the caller frees arg). */
int rp_config_on_free(struct rp_config *c, void (*fn)(void *arg), void *arg);

/* Print the readable startup block (listeners, upstreams, routes) to f. */
void rp_config_describe(const struct rp_config *c, FILE *f);

#endif
