/* The keyword registry: each config section is a table of {key, type, where to store, limits,
 * handler, help}, so adding a key is one table line. rp_cfg_apply walks a YAML map against a
 * table: unknown keys get a "did you mean", wrong types say what was expected, missing required
 * keys point at the enclosing map. Shared by the snapshot builder's files only. */
#ifndef RP_CONFIG_KEYWORDS_H
#define RP_CONFIG_KEYWORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/errors.h"
#include "config/node.h"
#include "core/arena.h"

/* State of one load: the snapshot being built and where errors go. */
struct rp_cfg_ctx {
    struct rp_arena *a; /* the snapshot's arena */
    struct rp_cfg_diags *d;
    struct rp_config *cfg;
    const char *file;                      /* as given, for messages and routes */
    const char *dir;                       /* directory of the file, for relative paths */
    const struct rp_cfg_node *routes_node; /* routes are built after the upstreams they name */
};

enum rp_cfg_type {
    RP_CFG_T_U32,      /* uint32_t, min..max */
    RP_CFG_T_DURATION, /* uint64_t ms, min..max */
    RP_CFG_T_SIZE,     /* uint64_t bytes, min..max */
    RP_CFG_T_BOOL,     /* bool */
    RP_CFG_T_STRING,   /* const char *, copied into the snapshot */
    RP_CFG_T_CUSTOM,   /* handler does everything */
};

/* String checks (flags of a RP_CFG_T_STRING key or of rp_cfg_get_str). */
#define RP_CFG_NONEMPTY 1u /* "" is rejected */
#define RP_CFG_HEADER 2u   /* goes into a header value: no CR, LF or NUL */

struct rp_cfg_key;
typedef void rp_cfg_handler_fn(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                               const struct rp_cfg_node *v, void *target);

struct rp_cfg_key {
    const char *key;
    enum rp_cfg_type type;
    size_t offset; /* of the field in the target struct (not for RP_CFG_T_CUSTOM) */
    uint64_t min, max;
    unsigned flags;
    rp_cfg_handler_fn *handler;
    bool required;
    const char *help; /* one line, shown in "expected" messages and mirrored in docs/config.md */
};

/* Walk map (a map node, or null meaning empty) against tab[0..n), storing into target. what
 * names the section in messages ("top level", "upstream \"app\""). Every problem is reported;
 * the walk always goes on. Returns false when map is neither a map nor null. */
bool rp_cfg_apply(struct rp_cfg_ctx *c, const struct rp_cfg_key *tab, size_t n, const char *what,
                  const struct rp_cfg_node *map, void *target);

/* The closest of cands[0..n) to word by edit distance, or NULL when none is close enough. */
const char *rp_cfg_suggest(const char *word, const char *const *cands, size_t n);

/* Typed readers used by handlers: each reports its own error (naming key) and returns false. */
bool rp_cfg_get_str(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                    unsigned flags, const char **out);
bool rp_cfg_get_uint(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                     uint64_t min, uint64_t max, uint64_t *out);
bool rp_cfg_get_duration(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                         uint64_t min, uint64_t max, uint64_t *out);
bool rp_cfg_get_size(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                     uint64_t min, uint64_t max, uint64_t *out);
bool rp_cfg_get_bool(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v, bool *out);

/* One of names[0..n) (exact, case-sensitive); its index in *out. */
bool rp_cfg_get_enum(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                     const char *const *names, size_t n, int *out);

/* Reports "key: expected <what>, got <kind>" unless v has the kind; returns whether it has. */
bool rp_cfg_want(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                 enum rp_cfg_node_kind kind, const char *what);

/* Routes: build c->routes_node into c->cfg (build_route.c). */
void rp_cfg_build_routes(struct rp_cfg_ctx *c);

/* Listener TLS keys (build_tls.c): the `tls` and `hsts` handlers of a listen item, and the
 * checks once the item is read (which also builds its TLS contexts when the item had no error
 * since errors_before). */
void rp_cfg_listener_tls(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                         const struct rp_cfg_node *v, void *target);
void rp_cfg_listener_hsts(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                          const struct rp_cfg_node *v, void *target);
void rp_cfg_listener_finish(struct rp_cfg_ctx *c, const struct rp_cfg_node *item,
                            struct rp_listener_conf *l, uint32_t errors_before);

/* TLS keys (build_tls_client.c). upstreams.NAME.tls: true, false or a map; builds the client
 * SSL_CTX (target: struct rp_upstream_conf). */
void rp_cfg_upstream_tls(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                         const struct rp_cfg_node *v, void *target);

/* listen[].tls.client_auth: a map {mode, ca, subject_header, fingerprint_header} (target:
 * struct rp_tls_listener_conf). */
void rp_cfg_tls_client_auth(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                            const struct rp_cfg_node *v, void *target);

/* Load-balancing keys of an upstream (build_upstream_lb.c; target: struct rp_upstream_conf),
 * the checks across them once the upstream is read (which also expands host names into
 * resolve slots), and the top-level resolver section (target: struct rp_config). */
rp_cfg_handler_fn rp_cfg_balance, rp_cfg_hash_key, rp_cfg_sticky, rp_cfg_health_check,
    rp_cfg_outlier, rp_cfg_retries, rp_cfg_queue, rp_cfg_resolve, rp_cfg_resolver;
void rp_cfg_upstream_lb_finish(struct rp_cfg_ctx *c, const struct rp_cfg_node *node,
                               struct rp_upstream_conf *u, const char *what);

/* routes[].compress (build_compress.c; target: the route's const struct rp_compress_conf *). */
void rp_cfg_route_compress(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                           const struct rp_cfg_node *v, void *target);

/* The host of a server address as written when it is a name ("app.internal:443"), copied into
 * the snapshot; NULL for IP literals and ":port". */
const char *rp_cfg_server_host(struct rp_cfg_ctx *c, const char *text);

/* True when s is a valid HTTP token (header name, method). */
bool rp_cfg_is_token(const char *s);

#define RP_CFG_COUNT(tab) (sizeof(tab) / sizeof((tab)[0]))

#endif
