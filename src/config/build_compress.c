/* routes[].compress: `true` or a map {encodings, min_length, types, gzip_level, br_level,
 * zstd_level}, built into a struct rp_compress_conf. */
#include <string.h>

#include "config/keywords.h"
#include "http/accept_encoding.h"

/* Media types worth compressing by default: text formats and the structured ones. */
static const char *const default_types[] = {
    "text/html",
    "text/css",
    "text/plain",
    "text/javascript",
    "text/xml",
    "text/csv",
    "text/markdown",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/ld+json",
    "application/manifest+json",
    "application/problem+json",
    "application/rss+xml",
    "application/atom+xml",
    "application/wasm",
    "image/svg+xml",
    "image/x-icon",
    "font/ttf",
    "font/otf",
};

static void h_encodings(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                        const struct rp_cfg_node *v, void *target)
{
    struct rp_compress_conf *z = target;
    if (!rp_cfg_want(c, k->key, v, RP_CFG_SEQ, "a list of gzip, br, zstd"))
        return;
    z->nprefer = 0;
    for (uint32_t i = 0; i < v->u.seq.n; i++) {
        const char *s;
        if (!rp_cfg_get_str(c, k->key, v->u.seq.items[i], RP_CFG_NONEMPTY, &s))
            continue;
        int cd = rp_coding_parse(rp_slice_cstr(s));
        if (cd <= RP_CODING_IDENTITY) {
            rp_cfg_diag_at(c->d, v->u.seq.items[i], "%s: expected gzip, br or zstd, got \"%s\"",
                           k->key, s);
            continue;
        }
        bool dup = false;
        for (uint32_t j = 0; j < z->nprefer; j++)
            dup |= z->prefer[j] == cd;
        if (dup)
            rp_cfg_diag_at(c->d, v->u.seq.items[i], "%s: \"%s\" is listed twice", k->key, s);
        else if (z->nprefer < 3)
            z->prefer[z->nprefer++] = (uint8_t)cd;
    }
    if (!z->nprefer)
        rp_cfg_diag_at(c->d, v, "%s: at least one coding is needed", k->key);
}

static void h_types(struct rp_cfg_ctx *c, const struct rp_cfg_key *k, const struct rp_cfg_node *v,
                    void *target)
{
    struct rp_compress_conf *z = target;
    if (!rp_cfg_want(c, k->key, v, RP_CFG_SEQ, "a list of media types like \"text/*\""))
        return;
    z->types = rp_arena_calloc(c->a, v->u.seq.n ? v->u.seq.n : 1, sizeof(*z->types));
    z->ntypes = 0;
    if (!z->types)
        return;
    for (uint32_t i = 0; i < v->u.seq.n; i++) {
        const char *s;
        if (!rp_cfg_get_str(c, k->key, v->u.seq.items[i], RP_CFG_NONEMPTY, &s))
            continue;
        const char *slash = strchr(s, '/');
        if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/')) {
            rp_cfg_diag_at(c->d, v->u.seq.items[i],
                           "%s: expected a media type like \"text/html\" or \"text/*\", got \"%s\"",
                           k->key, s);
            continue;
        }
        char *low = rp_arena_strdup(c->a, s);
        if (!low)
            return;
        for (char *p = low; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        z->types[z->ntypes++] = low;
    }
}

#define ZC(f) offsetof(struct rp_compress_conf, f)
static const struct rp_cfg_key compress_keys[] = {
    {"encodings", RP_CFG_T_CUSTOM, .handler = h_encodings,
     .help = "codings offered, most preferred first (default [zstd, br, gzip])"},
    {"min_length", RP_CFG_T_SIZE, ZC(min_length), 0, 1ULL << 40,
     .help = "bodies shorter than this (by Content-Length) are not compressed (default 256)"},
    {"types", RP_CFG_T_CUSTOM, .handler = h_types,
     .help = "media types to compress, \"type/*\" allowed (default: text and structured types)"},
    {"gzip_level", RP_CFG_T_U32, ZC(level[RP_CODING_GZIP]), 1, 9,
     .help = "gzip level 1..9 (default 5)"},
    {"br_level", RP_CFG_T_U32, ZC(level[RP_CODING_BR]), 1, 11,
     .help = "brotli quality 1..11 (default 4)"},
    {"zstd_level", RP_CFG_T_U32, ZC(level[RP_CODING_ZSTD]), 1, 19,
     .help = "zstd level 1..19 (default 3)"},
};

void rp_cfg_route_compress(struct rp_cfg_ctx *c, const struct rp_cfg_key *k,
                           const struct rp_cfg_node *v, void *target)
{
    const struct rp_compress_conf **out = target;
    bool on = true;
    if (v->kind == RP_CFG_SCALAR && !rp_cfg_get_bool(c, k->key, v, &on))
        return;
    if (v->kind != RP_CFG_SCALAR &&
        !rp_cfg_want(c, k->key, v, RP_CFG_MAP, "true, false or a map {encodings, types, ...}"))
        return;
    if (!on)
        return;
    struct rp_compress_conf *z = rp_arena_calloc(c->a, 1, sizeof(*z));
    if (!z)
        return;
    z->prefer[0] = RP_CODING_ZSTD;
    z->prefer[1] = RP_CODING_BR;
    z->prefer[2] = RP_CODING_GZIP;
    z->nprefer = 3;
    z->min_length = 256;
    z->types = (const char **)default_types;
    z->ntypes = sizeof(default_types) / sizeof(default_types[0]);
    if (v->kind == RP_CFG_MAP)
        rp_cfg_apply(c, compress_keys, RP_CFG_COUNT(compress_keys), "compress", v, z);
    *out = z;
}
