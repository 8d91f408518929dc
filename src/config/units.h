/* Value syntax shared by the config file and the command line: durations ("250ms", "30s", "5m",
 * "1h"; a unit is required except for a bare 0), sizes ("512", "16k", "1m", "1g", 1024-based,
 * suffix in any case) and plain unsigned integers. Pure functions, no allocation. */
#ifndef RP_CONFIG_UNITS_H
#define RP_CONFIG_UNITS_H

#include <stdint.h>

#include "core/slice.h"

/* Milliseconds in *ms. 0 on success, -1 on bad syntax or overflow. */
int rp_cfg_parse_duration(struct rp_slice s, uint64_t *ms);

/* Bytes in *bytes. 0 on success, -1 on bad syntax or overflow. */
int rp_cfg_parse_size(struct rp_slice s, uint64_t *bytes);

/* A decimal unsigned integer (digits only, no sign, no spaces). 0 or -1. */
int rp_cfg_parse_uint(struct rp_slice s, uint64_t *v);

/* Format a duration back into the shortest exact unit ("1500ms", "30s", "5m"). */
void rp_cfg_format_duration(uint64_t ms, char *buf, size_t n);

/* Format a size into the largest exact 1024-based unit ("16k", "1g", "100"). */
void rp_cfg_format_size(uint64_t bytes, char *buf, size_t n);

#endif
