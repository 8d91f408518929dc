/* libFuzzer harness for cookie and query parameter lookup: the first byte gives the length of
 * the name to look for; the rest is used both as a Cookie field value and as a query string.
 * A value found always lies inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t nl = data[0] % 16;
    if (size - 1 < nl)
        return 0;
    char name[17];
    memcpy(name, data + 1, nl);
    name[nl] = '\0';
    struct rp_slice rest = {(const char *)data + 1 + nl, size - 1 - nl};
    struct rp_header h = {.name = rp_slice_cstr("cookie"), .value = rest};
    struct rp_msg m = {.hdrs = &h, .nhdrs = 1, .cap_hdrs = 1};
    struct rp_slice v;
    if (rp_cookie_find(&m, name, &v) && (v.p < rest.p || v.p + v.n > rest.p + rest.n))
        abort();
    if (rp_query_param(rest, name, &v) && (v.p < rest.p || v.p + v.n > rest.p + rest.n))
        abort();
    return 0;
}
