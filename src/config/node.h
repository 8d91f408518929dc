/* The YAML node tree: libyaml's events turned into scalars, maps, sequences and nulls, each with
 * the file, line and column (1-based) it came from, so that every later check can point at the
 * value it rejects. The tree lives in a scratch arena and is dropped once the snapshot is built. */
#ifndef RP_CONFIG_NODE_H
#define RP_CONFIG_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/errors.h"
#include "core/arena.h"
#include "core/slice.h"

enum rp_cfg_node_kind { RP_CFG_NULL, RP_CFG_SCALAR, RP_CFG_MAP, RP_CFG_SEQ };

struct rp_cfg_node;

struct rp_cfg_pair {
    struct rp_cfg_node *key; /* always a scalar */
    struct rp_cfg_node *value;
};

struct rp_cfg_node {
    enum rp_cfg_node_kind kind;
    const char *file;
    int line, col;
    union {
        struct {
            const char *s; /* NUL-terminated copy; may hold inner NULs ("\0" escapes) */
            size_t n;
            bool quoted; /* written in quotes or as a block: never a null or a bool */
        } scalar;
        struct {
            struct rp_cfg_pair *pairs;
            uint32_t n;
        } map;
        struct {
            struct rp_cfg_node **items;
            uint32_t n;
        } seq;
    } u;
};

/* Deepest nesting accepted; the schema is far shallower, this only bounds hostile input. */
#define RP_CFG_MAX_DEPTH 64

/* Parse one YAML document from data into a tree allocated from a. Errors (syntax, duplicate
 * keys, aliases, several documents) go to d with their positions; the result is then NULL.
 * An empty document gives a NULL node (kind RP_CFG_NULL) at 1:1. file must outlive the tree. */
struct rp_cfg_node *rp_cfg_parse_yaml(const char *file, const char *data, size_t len,
                                      struct rp_arena *a, struct rp_cfg_diags *d);

/* Human name of a node's kind, for "expected X, got Y" messages. */
const char *rp_cfg_node_kind_name(const struct rp_cfg_node *n);

/* The text of a scalar node as a slice. */
static inline struct rp_slice rp_cfg_slice(const struct rp_cfg_node *n)
{
    return (struct rp_slice){n->u.scalar.s, n->u.scalar.n};
}

/* Value of key in a map node, or NULL. */
const struct rp_cfg_node *rp_cfg_map_get(const struct rp_cfg_node *map, const char *key);

#endif
