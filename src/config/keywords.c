/* The keyword registry engine: checks a YAML map against a section's key table, converts typed
 * values with messages that say what was expected, and finds "did you mean" suggestions. */
#include "config/keywords.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config/units.h"

#define SUGGEST_MAX 64

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), ignoring ASCII
 * case, so "lsiten" and "Listen" are both one edit from "listen". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > SUGGEST_MAX || m > SUGGEST_MAX)
        return SIZE_MAX;
    size_t d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[n][m];
}

const char *rp_cfg_suggest(const char *word, const char *const *cands, size_t n)
{
    size_t len = strlen(word);
    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t dist = edit_distance(word, cands[i]);
        if (dist <= limit && dist < best_d && dist < strlen(cands[i])) {
            best = cands[i];
            best_d = dist;
        }
    }
    return best;
}

bool rp_cfg_is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch))
            continue;
        if (!strchr("!#$%&'*+-.^_`|~", ch))
            return false;
    }
    return true;
}

/* A short printable rendering of a scalar for messages: cut long values, escape controls. */
static const char *shown(const struct rp_cfg_node *v, char *buf, size_t n)
{
    if (v->kind != RP_CFG_SCALAR)
        return rp_cfg_node_kind_name(v);
    /* room kept at the end: one escape (4), "..." (3), closing quote and NUL (2) */
    size_t o = 0;
    buf[o++] = '"';
    for (size_t i = 0; i < v->u.scalar.n; i++) {
        if (o + 9 > n) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char ch = (unsigned char)v->u.scalar.s[i];
        if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

static void expected(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                     const char *what)
{
    char buf[80];
    rp_cfg_diag_at(c->d, v, "%s: expected %s, got %s", key, what, shown(v, buf, sizeof(buf)));
}

bool rp_cfg_want(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                 enum rp_cfg_node_kind kind, const char *what)
{
    if (v->kind == kind)
        return true;
    expected(c, key, v, what);
    return false;
}

bool rp_cfg_get_str(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                    unsigned flags, const char **out)
{
    if (!rp_cfg_want(c, key, v, RP_CFG_SCALAR, "a string"))
        return false;
    const char *s = v->u.scalar.s;
    size_t n = v->u.scalar.n;
    if ((flags & RP_CFG_NONEMPTY) && n == 0) {
        rp_cfg_diag_at(c->d, v, "%s: must not be empty", key);
        return false;
    }
    if (memchr(s, '\0', n)) {
        rp_cfg_diag_at(c->d, v, "%s: must not contain a NUL character", key);
        return false;
    }
    if ((flags & RP_CFG_HEADER) && (memchr(s, '\r', n) || memchr(s, '\n', n))) {
        rp_cfg_diag_at(c->d, v, "%s: a header value must not contain CR or LF", key);
        return false;
    }
    *out = rp_arena_strndup(c->a, s, n);
    if (!*out) {
        rp_cfg_diag_at(c->d, v, "out of memory");
        return false;
    }
    return true;
}

bool rp_cfg_get_uint(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                     uint64_t min, uint64_t max, uint64_t *out)
{
    char what[80];
    snprintf(what, sizeof(what), "an integer from %llu to %llu", (unsigned long long)min,
             (unsigned long long)max);
    uint64_t x;
    if (v->kind != RP_CFG_SCALAR || rp_cfg_parse_uint(rp_cfg_slice(v), &x) != 0 || x < min ||
        x > max) {
        expected(c, key, v, what);
        return false;
    }
    *out = x;
    return true;
}

/* Range check for durations and sizes, in their own units so the message reads naturally. */
static bool in_range(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v, uint64_t x,
                     uint64_t min, uint64_t max, bool duration)
{
    char lo[32], hi[32];
    if (duration) {
        rp_cfg_format_duration(min, lo, sizeof(lo));
        rp_cfg_format_duration(max, hi, sizeof(hi));
    } else {
        rp_cfg_format_size(min, lo, sizeof(lo));
        rp_cfg_format_size(max, hi, sizeof(hi));
    }
    if (x < min) {
        rp_cfg_diag_at(c->d, v, "%s: must be at least %s", key, lo);
        return false;
    }
    if (x > max) {
        rp_cfg_diag_at(c->d, v, "%s: must be at most %s", key, hi);
        return false;
    }
    return true;
}

bool rp_cfg_get_duration(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                         uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t x;
    if (v->kind != RP_CFG_SCALAR || rp_cfg_parse_duration(rp_cfg_slice(v), &x) != 0) {
        expected(c, key, v, "a duration like 250ms, 30s, 5m");
        return false;
    }
    if (!in_range(c, key, v, x, min, max, true))
        return false;
    *out = x;
    return true;
}

bool rp_cfg_get_size(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                     uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t x;
    if (v->kind != RP_CFG_SCALAR || rp_cfg_parse_size(rp_cfg_slice(v), &x) != 0) {
        expected(c, key, v, "a size like 512, 16k, 1m, 1g");
        return false;
    }
    if (!in_range(c, key, v, x, min, max, false))
        return false;
    *out = x;
    return true;
}

bool rp_cfg_get_bool(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v, bool *out)
{
    if (v->kind == RP_CFG_SCALAR) {
        const char *s = v->u.scalar.s;
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
            *out = true;
            return true;
        }
        if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
            *out = false;
            return true;
        }
    }
    expected(c, key, v, "true or false");
    return false;
}

static void apply_one(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                      void *target)
{
    void *field = (char *)target + k->offset;
    uint64_t x;
    switch (k->type) {
    case RP_CFG_T_U32:
        if (rp_cfg_get_uint(c, k->key, v, k->min, k->max, &x))
            *(uint32_t *)field = (uint32_t)x;
        break;
    case RP_CFG_T_DURATION:
        if (rp_cfg_get_duration(c, k->key, v, k->min, k->max, &x))
            *(uint64_t *)field = x;
        break;
    case RP_CFG_T_SIZE:
        if (rp_cfg_get_size(c, k->key, v, k->min, k->max, &x))
            *(uint64_t *)field = x;
        break;
    case RP_CFG_T_BOOL:
        rp_cfg_get_bool(c, k->key, v, (bool *)field);
        break;
    case RP_CFG_T_STRING:
        rp_cfg_get_str(c, k->key, v, k->flags, (const char **)field);
        break;
    case RP_CFG_T_CUSTOM:
        break;
    }
    if (k->handler)
        k->handler(c, k, v, target);
}

/* Reports an unknown key; returns the index of the suggested key, or -1. */
static int unknown_key(struct rp_cfg_ctx *c, const struct rp_cfg_key *tab, size_t n,
                       const char *what, const struct rp_cfg_node *key)
{
    const char *names[64] = {0};
    size_t nn = n < 64 ? n : 64;
    for (size_t i = 0; i < nn; i++)
        names[i] = tab[i].key;
    const char *s = rp_cfg_suggest(key->u.scalar.s, names, nn);
    char buf[80];
    const char *text = shown(key, buf, sizeof(buf));
    if (s) {
        rp_cfg_diag_at(c->d, key, "unknown key %s in %s; did you mean \"%s\"?", text, what, s);
        for (size_t i = 0; i < nn; i++)
            if (names[i] == s)
                return (int)i;
        return -1;
    }
    char list[512];
    size_t o = 0;
    for (size_t i = 0; i < nn && o < sizeof(list); i++)
        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", names[i]);
    rp_cfg_diag_at(c->d, key, "unknown key %s in %s; expected one of: %s", text, what, list);
    return -1;
}

bool rp_cfg_apply(struct rp_cfg_ctx *c, const struct rp_cfg_key *tab, size_t n, const char *what,
                  const struct rp_cfg_node *map, void *target)
{
    if (map->kind == RP_CFG_NULL) {
        /* an empty section keeps its defaults, but required keys are still required */
    } else if (map->kind != RP_CFG_MAP) {
        char buf[80];
        rp_cfg_diag_at(c->d, map, "%s: expected a map, got %s", what, shown(map, buf, sizeof(buf)));
        return false;
    }
    uint32_t npairs = map->kind == RP_CFG_MAP ? map->u.map.n : 0;
    uint64_t suggested = 0; /* a misspelt required key is reported once, as the misspelling */
    for (uint32_t i = 0; i < npairs; i++) {
        const struct rp_cfg_pair *p = &map->u.map.pairs[i];
        const struct rp_cfg_key *k = NULL;
        for (size_t j = 0; j < n && !k; j++)
            if (strlen(tab[j].key) == p->key->u.scalar.n && !strcmp(tab[j].key, p->key->u.scalar.s))
                k = &tab[j];
        int sug = k ? -1 : unknown_key(c, tab, n, what, p->key);
        if (sug >= 0)
            suggested |= UINT64_C(1) << sug;
        else if (k)
            apply_one(c, k, p->value, target);
    }
    for (size_t j = 0; j < n; j++)
        if (tab[j].required && !rp_cfg_map_get(map, tab[j].key) &&
            !(j < 64 && (suggested >> j) & 1))
            rp_cfg_diag_at(c->d, map, "missing required key \"%s\" in %s (%s)", tab[j].key, what,
                           tab[j].help);
    return true;
}

bool rp_cfg_get_enum(struct rp_cfg_ctx *c, const char *key, const struct rp_cfg_node *v,
                     const char *const *names, size_t n, int *out)
{
    if (v->kind == RP_CFG_SCALAR) {
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(v->u.scalar.s, names[i])) {
                *out = (int)i;
                return true;
            }
        }
    }
    char list[256];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof(list); i++)
        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "one of ", names[i]);
    const char *s = v->kind == RP_CFG_SCALAR ? rp_cfg_suggest(v->u.scalar.s, names, n) : NULL;
    char buf[80];
    if (s)
        rp_cfg_diag_at(c->d, v, "%s: expected %s, got %s; did you mean \"%s\"?", key, list,
                       shown(v, buf, sizeof(buf)), s);
    else
        expected(c, key, v, list);
    return false;
}
