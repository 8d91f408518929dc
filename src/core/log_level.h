/* Error-log severity levels, shared by the config loader and the logger. */
#ifndef RP_CORE_LOG_LEVEL_H
#define RP_CORE_LOG_LEVEL_H

enum rp_log_level { RP_LOG_ERROR, RP_LOG_WARN, RP_LOG_INFO, RP_LOG_DEBUG };

#endif
