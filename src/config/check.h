/* The config checker behind `rampart check -c FILE`. */
#ifndef RP_CONFIG_CHECK_H
#define RP_CONFIG_CHECK_H

#include <stdio.h>

#include "config/config.h"

/* Load path; print every error one per line to out and return 1, or print "<path>:
 * configuration OK" and the describe block and return 0. Thread: any. */
int rp_config_check_main(const char *path, FILE *out);

#endif
