/* Log levels, shared by the config snapshot (log.level) and the logger. Lower is more severe; a
 * message is written when its level is at most the configured one. */
#ifndef RP_CORE_LOG_LEVEL_H
#define RP_CORE_LOG_LEVEL_H

enum rp_log_level { RP_LOG_ERROR, RP_LOG_WARN, RP_LOG_INFO, RP_LOG_DEBUG };

#endif
