/* Cookie and query parameter lookup (see params.h). */
#include "http/params.h"

#include <string.h>

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

bool rp_cookie_find(const struct rp_msg *m, const char *name, struct rp_slice *out)
{
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        if (!rp_slice_case_eq_cstr(m->hdrs[i].name, "cookie"))
            continue;
        const char *p = m->hdrs[i].value.p, *end = p + m->hdrs[i].value.n;
        while (p < end) {
            while (p < end && (is_ows(*p) || *p == ';'))
                p++;
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *pair_end = semi ? semi : end;
            if ((size_t)(pair_end - p) > nl && !memcmp(p, name, nl) && p[nl] == '=') {
                out->p = p + nl + 1;
                out->n = (size_t)(pair_end - out->p);
                while (out->n && is_ows(out->p[out->n - 1]))
                    out->n--;
                return true;
            }
            p = pair_end;
        }
    }
    return false;
}

bool rp_query_param(struct rp_slice query, const char *name, struct rp_slice *out)
{
    size_t nl = strlen(name);
    const char *p = query.p, *end = query.p + query.n;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) >= nl && !memcmp(p, name, nl) && (p + nl == e || p[nl] == '=')) {
            out->p = p + nl + (p + nl < e);
            out->n = (size_t)(e - out->p);
            return true;
        }
        p = amp ? amp + 1 : end;
    }
    return false;
}
