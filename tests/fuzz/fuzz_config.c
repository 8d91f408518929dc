/* libFuzzer harness for the config loader: any bytes as a YAML file, then (when it loads) the
 * describe block and a few router lookups over the snapshot, then freeing everything. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "proxy/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (!devnull)
        devnull = fopen("/dev/null", "w");
    struct rp_cfg_errors errs = {0};
    struct rp_config *cfg = rp_config_load_buffer("fuzz.yaml", (const char *)data, size, &errs);
    if (cfg) {
        if (devnull)
            rp_config_describe(cfg, devnull);
        struct rp_header h = {RP_SLICE_LIT("X-Env"), RP_SLICE_LIT("prod")};
        struct rp_msg req = {.method = RP_SLICE_LIT("GET"), .hdrs = &h, .nhdrs = 1, .cap_hdrs = 1};
        (void)rp_router_match(cfg, &req, RP_SLICE_LIT("a.example.com"), RP_SLICE_LIT("/api/v1/x"));
        (void)rp_router_match(cfg, &req, RP_SLICE_LIT(""), RP_SLICE_LIT("/"));
        rp_config_unref(cfg);
    } else if (errs.n == 0) {
        __builtin_trap(); /* a failed load must always say why */
    }
    rp_cfg_errors_free(&errs);
    return 0;
}
