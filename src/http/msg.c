/* Helpers over the version-neutral message model: method lookup, header search and token lists.
 * Only rp_msg_keep allocates (from the caller's arena); the rest reads slices the codecs filled. */
#include "http/msg.h"

#include "core/arena.h"
#include "http/ctype.h"

enum rp_method rp_method_from_slice(struct rp_slice m)
{
    /* Method names are case-sensitive (RFC 9110 9.1): compare bytes exactly. */
    switch (m.n) {
    case 3:
        if (memcmp(m.p, "GET", 3) == 0)
            return RP_METH_GET;
        if (memcmp(m.p, "PUT", 3) == 0)
            return RP_METH_PUT;
        break;
    case 4:
        if (memcmp(m.p, "HEAD", 4) == 0)
            return RP_METH_HEAD;
        if (memcmp(m.p, "POST", 4) == 0)
            return RP_METH_POST;
        break;
    case 5:
        if (memcmp(m.p, "TRACE", 5) == 0)
            return RP_METH_TRACE;
        if (memcmp(m.p, "PATCH", 5) == 0)
            return RP_METH_PATCH;
        break;
    case 6:
        if (memcmp(m.p, "DELETE", 6) == 0)
            return RP_METH_DELETE;
        break;
    case 7:
        if (memcmp(m.p, "CONNECT", 7) == 0)
            return RP_METH_CONNECT;
        if (memcmp(m.p, "OPTIONS", 7) == 0)
            return RP_METH_OPTIONS;
        break;
    default:
        break;
    }
    return RP_METH_OTHER;
}

const struct rp_header *rp_msg_find(const struct rp_msg *m, struct rp_slice name)
{
    for (uint32_t i = 0; i < m->nhdrs; i++)
        if (rp_slice_case_eq(m->hdrs[i].name, name))
            return &m->hdrs[i];
    return NULL;
}

/* True when the comma-separated list v holds token (elements trimmed of OWS). */
static bool list_has_token(struct rp_slice v, struct rp_slice token)
{
    const char *p = v.p, *e = v.p + v.n;
    while (p < e) {
        const char *c = memchr(p, ',', (size_t)(e - p));
        const char *ee = c ? c : e;
        struct rp_slice el = rp_slice_trim_ows((struct rp_slice){p, (size_t)(ee - p)});
        if (rp_slice_case_eq(el, token))
            return true;
        if (!c)
            break;
        p = c + 1;
    }
    return false;
}

bool rp_msg_has_token(const struct rp_msg *m, struct rp_slice name, struct rp_slice token)
{
    for (uint32_t i = 0; i < m->nhdrs; i++)
        if (rp_slice_case_eq(m->hdrs[i].name, name) && list_has_token(m->hdrs[i].value, token))
            return true;
    return false;
}

bool rp_method_idempotent(enum rp_method m)
{
    switch (m) {
    case RP_METH_GET:
    case RP_METH_HEAD:
    case RP_METH_PUT:
    case RP_METH_DELETE:
    case RP_METH_OPTIONS:
    case RP_METH_TRACE:
        return true;
    default:
        return false;
    }
}

static void rebase(struct rp_slice *sl, const char *from, size_t len, char *to)
{
    if (sl->p >= from && sl->p <= from + len)
        sl->p = to + (sl->p - from);
}

bool rp_msg_keep(struct rp_arena *a, struct rp_msg *dst, const struct rp_msg *src, const char *from,
                 size_t len)
{
    char *to = rp_arena_alloc(a, len);
    struct rp_header *hdrs = rp_arena_alloc(a, (src->nhdrs + 1) * sizeof(*hdrs));
    if (!to || !hdrs)
        return false;
    memcpy(to, from, len);
    *dst = *src;
    if (src->nhdrs)
        memcpy(hdrs, src->hdrs, src->nhdrs * sizeof(*hdrs));
    dst->hdrs = hdrs;
    dst->cap_hdrs = src->nhdrs + 1;
    struct rp_slice *fields[] = {&dst->method,    &dst->target, &dst->path, &dst->query,
                                 &dst->authority, &dst->reason, &dst->host};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        rebase(fields[i], from, len, to);
    for (uint32_t i = 0; i < dst->nhdrs; i++) {
        rebase(&hdrs[i].name, from, len, to);
        rebase(&hdrs[i].value, from, len, to);
    }
    return true;
}

bool rp_host_valid(struct rp_slice v)
{
    if (v.n == 0)
        return false;
    for (size_t i = 0; i < v.n; i++)
        if (!RP_CT(v.p[i], RP_CT_HOST))
            return false;
    return true;
}
