/* `rampart check -c FILE`: load a config file and say, in a shell-friendly way, whether it is
 * good. Errors one per line; on success a confirmation and the startup description. */
#include "config/check.h"

int rp_config_check_main(const char *path, FILE *out)
{
    struct rp_cfg_errors errs = {0};
    struct rp_config *cfg = rp_config_load_file(path, &errs);
    if (!cfg) {
        for (uint32_t i = 0; i < errs.n; i++)
            fprintf(out, "%s\n", errs.msgs[i]);
        if (errs.n == 0)
            fprintf(out, "%s: configuration is invalid\n", path);
        rp_cfg_errors_free(&errs);
        return 1;
    }
    fprintf(out, "%s: configuration OK\n", path);
    rp_config_describe(cfg, out);
    rp_config_unref(cfg);
    rp_cfg_errors_free(&errs);
    return 0;
}
