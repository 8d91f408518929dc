/* libFuzzer harness for rp_h1_parse_request: any input gives one of the documented results, a
 * parsed head's slices lie inside it, and feeding it byte by byte gives the one-shot result. */
#include <stdint.h>
#include <stdlib.h>

#include "http/h1_parse.h"

#define NH 32

static void inside(struct rp_slice s, const char *b, size_t n)
{
    if (s.n && (s.p < b || s.p + s.n > b + n))
        abort();
}

static ssize_t parse(const char *b, size_t n, struct rp_msg *m, struct rp_header *h, size_t *hint)
{
    static const struct rp_h1_limits lim = {
        .max_request_line = 100, .max_head = 300, .max_headers = NH};
    memset(m, 0, sizeof(*m));
    m->hdrs = h;
    m->cap_hdrs = NH;
    return rp_h1_parse_request(b, n, m, &lim, hint);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data;
    struct rp_msg m, m2;
    struct rp_header h[NH], h2[NH];
    size_t hint = 0;
    ssize_t r = parse(b, size, &m, h, &hint);
    if (r > 0) {
        if ((size_t)r > size || m.nhdrs > NH)
            abort();
        inside(m.method, b, (size_t)r);
        inside(m.target, b, (size_t)r);
        inside(m.query, b, (size_t)r);
        inside(m.authority, b, (size_t)r);
        inside(m.host, b, (size_t)r);
        if (!(m.path.n == 1 && m.path.p[0] == '/'))
            inside(m.path, b, (size_t)r);
        if (m.method.n == 0 || m.target.n == 0 || (m.version != 10 && m.version != 11))
            abort();
        for (uint32_t i = 0; i < m.nhdrs; i++) {
            inside(m.hdrs[i].name, b, (size_t)r);
            inside(m.hdrs[i].value, b, (size_t)r);
            if (m.hdrs[i].name.n == 0)
                abort();
            for (size_t k = 0; k < m.hdrs[i].name.n; k++)
                if (!rp_h1_is_tchar((unsigned char)m.hdrs[i].name.p[k]))
                    abort();
        }
        if (m.body == RP_BODY_CLOSE || (m.body != RP_BODY_LENGTH && m.content_length))
            abort();
        if (b[r - 1] != '\n' || b[r - 2] != '\r' || b[r - 3] != '\n' || b[r - 4] != '\r')
            abort();
    } else if (r == 0) {
        if (hint > size)
            abort();
    } else if (r != -400 && r != -414 && r != -431 && r != -501 && r != -505) {
        abort();
    }
    if (size > 4096)
        return 0;
    /* incremental: grow the visible prefix one byte at a time */
    size_t hint2 = 0;
    ssize_t r2 = 0;
    for (size_t i = 0; i <= size && r2 == 0; i++)
        r2 = parse(b, i, &m2, h2, &hint2);
    if (r2 != r)
        abort();
    if (r > 0 &&
        (m2.nhdrs != m.nhdrs || m2.body != m.body || m2.content_length != m.content_length ||
         m2.target.p != m.target.p || m2.keep_alive != m.keep_alive))
        abort();
    return 0;
}
