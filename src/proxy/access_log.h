/* Access log destination, shared by all workers. */
#ifndef RP_PROXY_ACCESS_LOG_H
#define RP_PROXY_ACCESS_LOG_H

#include "config/config.h"
#include "core/log.h"

extern struct rp_log_file rp_access_file;

/* Point the access log where cfg says (stdout, a file, or nowhere). Returns 0 or -errno. */
int rp_access_log_open(const struct rp_config *cfg);

#endif
