/* libFuzzer harness for path normalisation: the first byte sets reject_encoded_slash. A result
 * starts with '/', is no longer than the input, has no dot-segment, is a fixed point of the
 * normaliser, and always joins safely under a root. */
#include <stdint.h>
#include <stdlib.h>

#include "http/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool rej = data[0] & 1;
    struct rp_slice in = {(const char *)data + 1, size - 1};
    char *out = malloc(in.n + 1);
    char *again = malloc(in.n + 1);
    char *joined = malloc(in.n + 8);
    ssize_t r = rp_uri_normalize_path(in, out, in.n + 1, rej);
    if (r < 0) {
        if (r != -400)
            abort();
        goto done;
    }
    if (r == 0 || (size_t)r > in.n || out[0] != '/' || out[r] != '\0')
        abort();
    /* no "." or ".." segment survives */
    for (ssize_t i = 0; i < r; i++) {
        if (out[i] != '/')
            continue;
        ssize_t j = i + 1;
        while (j < r && out[j] != '/')
            j++;
        ssize_t len = j - i - 1;
        if ((len == 1 && out[i + 1] == '.') || (len == 2 && out[i + 1] == '.' && out[i + 2] == '.'))
            abort();
    }
    ssize_t r2 =
        rp_uri_normalize_path((struct rp_slice){out, (size_t)r}, again, (size_t)r + 1, rej);
    if (r2 != r || memcmp(out, again, (size_t)r) != 0)
        abort();
    if (!rp_uri_safe_join("/srv", (struct rp_slice){out, (size_t)r}, joined, in.n + 8))
        abort();
done:
    free(out);
    free(again);
    free(joined);
    return 0;
}
