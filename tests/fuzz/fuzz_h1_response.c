/* libFuzzer harness for rp_h1_parse_response: the first byte picks the request method, the rest
 * is the response head. Results are -502, 0 or a head inside the input; byte-by-byte feeding
 * gives the one-shot result. */
#include <stdint.h>
#include <stdlib.h>

#include "http/h1_parse.h"

#define NH 32

static void inside(struct rp_slice s, const char *b, size_t n)
{
    if (s.n && (s.p < b || s.p + s.n > b + n))
        abort();
}

static ssize_t parse(const char *b, size_t n, enum rp_method meth, struct rp_msg *m,
                     struct rp_header *h, size_t *hint)
{
    static const struct rp_h1_limits lim = {
        .max_request_line = 100, .max_head = 300, .max_headers = NH};
    memset(m, 0, sizeof(*m));
    m->hdrs = h;
    m->cap_hdrs = NH;
    return rp_h1_parse_response(b, n, m, meth, &lim, hint);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum rp_method meth = (enum rp_method)(data[0] % (RP_METH_PATCH + 1));
    const char *b = (const char *)data + 1;
    size_t n = size - 1;
    struct rp_msg m, m2;
    struct rp_header h[NH], h2[NH];
    size_t hint = 0;
    ssize_t r = parse(b, n, meth, &m, h, &hint);
    if (r > 0) {
        if ((size_t)r > n || m.nhdrs > NH || m.status < 100 || m.status > 999)
            abort();
        inside(m.reason, b, (size_t)r);
        for (uint32_t i = 0; i < m.nhdrs; i++) {
            inside(m.hdrs[i].name, b, (size_t)r);
            inside(m.hdrs[i].value, b, (size_t)r);
        }
        if ((m.status < 200 || m.status == 204 || m.status == 304 || meth == RP_METH_HEAD) &&
            m.body != RP_BODY_NONE)
            abort();
        if (m.body == RP_BODY_CLOSE && m.keep_alive)
            abort();
    } else if (r == 0) {
        if (hint > n)
            abort();
    } else if (r != -502) {
        abort();
    }
    if (n > 4096)
        return 0;
    size_t hint2 = 0;
    ssize_t r2 = 0;
    for (size_t i = 0; i <= n && r2 == 0; i++)
        r2 = parse(b, i, meth, &m2, h2, &hint2);
    if (r2 != r)
        abort();
    if (r > 0 && (m2.status != m.status || m2.body != m.body || m2.nhdrs != m.nhdrs))
        abort();
    return 0;
}
