/* libyaml events to the node tree. An explicit stack instead of recursion, so nesting depth is a
 * checked limit rather than C stack use; duplicate keys and aliases are errors found here. */
#include "config/node.h"

#include <string.h>
#include <yaml.h>

struct frame {
    struct rp_cfg_node *node; /* map or seq being filled */
    uint32_t cap;
    struct rp_cfg_node *key; /* map: key waiting for its value */
};

struct builder {
    const char *file;
    struct rp_arena *a;
    struct rp_cfg_diags *d;
    struct frame stack[RP_CFG_MAX_DEPTH];
    int depth;
    struct rp_cfg_node *root;
    bool failed;
    bool oom;
};

const char *rp_cfg_node_kind_name(const struct rp_cfg_node *n)
{
    switch (n->kind) {
    case RP_CFG_NULL:
        return "nothing (null)";
    case RP_CFG_SCALAR:
        return "a string";
    case RP_CFG_MAP:
        return "a map";
    case RP_CFG_SEQ:
        return "a list";
    }
    return "?";
}

const struct rp_cfg_node *rp_cfg_map_get(const struct rp_cfg_node *map, const char *key)
{
    if (!map || map->kind != RP_CFG_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->u.map.n; i++)
        if (map->u.map.pairs[i].key->u.scalar.n == strlen(key) &&
            strcmp(map->u.map.pairs[i].key->u.scalar.s, key) == 0)
            return map->u.map.pairs[i].value;
    return NULL;
}

static struct rp_cfg_node *new_node(struct builder *b, enum rp_cfg_node_kind kind, yaml_mark_t mark)
{
    struct rp_cfg_node *n = rp_arena_calloc(b->a, 1, sizeof(*n));
    if (!n) {
        b->oom = true;
        return NULL;
    }
    n->kind = kind;
    n->file = b->file;
    n->line = (int)mark.line + 1;
    n->col = (int)mark.column + 1;
    return n;
}

/* Grow an arena array by doubling; the old copy stays in the arena until it is dropped whole,
 * which costs at most as much again and keeps the builder free of cleanup paths. */
static void *grow(struct builder *b, void *old, uint32_t n, uint32_t *cap, size_t elem)
{
    uint32_t ncap = *cap ? *cap * 2 : 4;
    void *p = rp_arena_alloc(b->a, (size_t)ncap * elem);
    if (!p) {
        b->oom = true;
        return NULL;
    }
    if (n)
        memcpy(p, old, (size_t)n * elem);
    *cap = ncap;
    return p;
}

static bool is_null_text(const char *s)
{
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* Attach a finished node to whatever encloses it. */
static void attach(struct builder *b, struct rp_cfg_node *n)
{
    if (b->depth == 0) {
        b->root = n;
        return;
    }
    struct frame *f = &b->stack[b->depth - 1];
    struct rp_cfg_node *p = f->node;
    if (p->kind == RP_CFG_SEQ) {
        if (p->u.seq.n == f->cap) {
            struct rp_cfg_node **v =
                grow(b, p->u.seq.items, p->u.seq.n, &f->cap, sizeof(*p->u.seq.items));
            if (!v)
                return;
            p->u.seq.items = v;
        }
        p->u.seq.items[p->u.seq.n++] = n;
        return;
    }
    if (!f->key) {
        if (n->kind != RP_CFG_SCALAR) {
            rp_cfg_diag_at(b->d, n, "map keys must be plain strings, not %s",
                           rp_cfg_node_kind_name(n));
            b->failed = true;
            /* keep the pairing straight: a placeholder key, its value is dropped later */
            struct rp_cfg_node *k = new_node(b, RP_CFG_SCALAR, (yaml_mark_t){0, 0, 0});
            if (!k)
                return;
            k->line = n->line;
            k->col = n->col;
            k->u.scalar.s = "";
            f->key = k;
            return;
        }
        for (uint32_t i = 0; i < p->u.map.n; i++) {
            const struct rp_cfg_node *k = p->u.map.pairs[i].key;
            if (k->u.scalar.n == n->u.scalar.n &&
                !memcmp(k->u.scalar.s, n->u.scalar.s, n->u.scalar.n)) {
                rp_cfg_diag_at(b->d, n, "duplicate key \"%s\" (first given at line %d)",
                               n->u.scalar.s, k->line);
                b->failed = true;
                break;
            }
        }
        f->key = n;
        return;
    }
    if (p->u.map.n == f->cap) {
        struct rp_cfg_pair *v = grow(b, p->u.map.pairs, p->u.map.n, &f->cap, sizeof(*v));
        if (!v)
            return;
        p->u.map.pairs = v;
    }
    p->u.map.pairs[p->u.map.n++] = (struct rp_cfg_pair){f->key, n};
    f->key = NULL;
}

static void on_scalar(struct builder *b, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    bool quoted =
        ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !ev->data.scalar.plain_implicit;
    struct rp_cfg_node *node;
    if (!quoted && is_null_text(s)) {
        node = new_node(b, RP_CFG_NULL, ev->start_mark);
    } else {
        node = new_node(b, RP_CFG_SCALAR, ev->start_mark);
        if (node) {
            node->u.scalar.s = rp_arena_strndup(b->a, s, n);
            node->u.scalar.n = n;
            node->u.scalar.quoted = quoted;
            if (!node->u.scalar.s) {
                b->oom = true;
                return;
            }
        }
    }
    if (node)
        attach(b, node);
}

static bool on_start(struct builder *b, const yaml_event_t *ev, enum rp_cfg_node_kind kind)
{
    struct rp_cfg_node *n = new_node(b, kind, ev->start_mark);
    if (!n)
        return false;
    if (b->depth == RP_CFG_MAX_DEPTH) {
        rp_cfg_diag_at(b->d, n, "nesting is deeper than %d levels", RP_CFG_MAX_DEPTH);
        return false;
    }
    b->stack[b->depth++] = (struct frame){n, 0, NULL};
    return true;
}

static void on_end(struct builder *b)
{
    if (b->depth == 0)
        return;
    struct rp_cfg_node *n = b->stack[--b->depth].node;
    attach(b, n);
}

static void syntax_error(struct builder *b, const yaml_parser_t *p)
{
    const char *what = p->problem ? p->problem : "invalid YAML";
    yaml_mark_t m = p->problem_mark;
    if (p->context)
        rp_cfg_diag_add(b->d, b->file, (int)m.line + 1, (int)m.column + 1,
                        "YAML syntax error: %s %s", what, p->context);
    else
        rp_cfg_diag_add(b->d, b->file, (int)m.line + 1, (int)m.column + 1, "YAML syntax error: %s",
                        what);
}

struct rp_cfg_node *rp_cfg_parse_yaml(const char *file, const char *data, size_t len,
                                      struct rp_arena *a, struct rp_cfg_diags *d)
{
    struct builder b = {.file = file, .a = a, .d = d};
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        rp_cfg_diag_add(d, file, 0, 0, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    int docs = 0;
    bool done = false;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            syntax_error(&b, &parser);
            b.failed = true;
            break;
        }
        bool ok = true;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                rp_cfg_diag_add(d, file, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                                "only one YAML document is allowed in a config file");
                b.failed = true;
                ok = false;
            }
            break;
        case YAML_ALIAS_EVENT: {
            struct rp_cfg_node *n = new_node(&b, RP_CFG_NULL, ev.start_mark);
            if (n) {
                rp_cfg_diag_at(d, n, "YAML aliases (*%s) are not supported",
                               (const char *)ev.data.alias.anchor);
                b.failed = true;
                attach(&b, n);
            }
            break;
        }
        case YAML_SCALAR_EVENT:
            on_scalar(&b, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            ok = on_start(&b, &ev, RP_CFG_SEQ);
            break;
        case YAML_MAPPING_START_EVENT:
            ok = on_start(&b, &ev, RP_CFG_MAP);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            on_end(&b);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (b.oom) {
            rp_cfg_diag_add(d, file, 0, 0, "out of memory while reading the file");
            b.failed = true;
        }
        if (!ok || b.oom) {
            b.failed = true;
            break;
        }
    }
    yaml_parser_delete(&parser);
    if (b.failed)
        return NULL;
    if (!b.root) {
        yaml_mark_t m = {0, 0, 0};
        b.root = new_node(&b, RP_CFG_NULL, m);
    }
    return b.root;
}
