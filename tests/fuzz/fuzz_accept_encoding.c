/* libFuzzer harness for Accept-Encoding negotiation: the first byte picks the server's preference
 * list, the rest is split at '\n' into up to 8 Accept-Encoding fields. The answer must be -1,
 * identity, or a coding from the preference list, and the same on a second call. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/accept_encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* Two bits per entry, up to three entries, so duplicates and identity show up too. */
    enum rp_coding pref[3];
    size_t n = data[0] >> 6;
    for (size_t i = 0; i < n; i++)
        pref[i] = (enum rp_coding)((data[0] >> (2 * i)) & 3);
    struct rp_header h[9];
    uint32_t nh = 0;
    h[nh++] = (struct rp_header){rp_slice_cstr("te"), rp_slice_cstr("gzip")};
    const char *p = (const char *)data + 1, *e = (const char *)data + size;
    while (nh < 9) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        const char *end = nl ? nl : e;
        h[nh++] = (struct rp_header){rp_slice_cstr("Accept-Encoding"), {p, (size_t)(end - p)}};
        if (!nl)
            break;
        p = nl + 1;
    }
    struct rp_msg m = {.hdrs = h, .nhdrs = nh, .cap_hdrs = 9};
    int r = rp_accept_encoding_choose(&m, pref, n);
    if (r != -1 && r != RP_CODING_IDENTITY) {
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= (int)pref[i] == r;
        if (!found)
            abort();
    }
    if (rp_accept_encoding_choose(&m, pref, n) != r)
        abort();
    return 0;
}
