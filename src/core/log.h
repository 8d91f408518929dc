/* The error log: leveled lines with a timestamp, to stderr or a file, reopened on SIGUSR1.
 * Safe from any thread: each line is one write(2) on an O_APPEND descriptor. */
#ifndef RP_CORE_LOG_H
#define RP_CORE_LOG_H

#include <stdbool.h>

#include "core/log_level.h"

extern int rp_log_min_level;

/* Point the error log at path ("stderr" or NULL for stderr). Returns 0 or -errno. */
int rp_log_open(const char *path, enum rp_log_level level);

/* Reopen the file (after rotation). Returns 0 or -errno; the old descriptor stays on failure. */
int rp_log_reopen(void);

void rp_log(enum rp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rp_log_error(...) rp_log(RP_LOG_ERROR, __VA_ARGS__)
#define rp_log_warn(...) rp_log(RP_LOG_WARN, __VA_ARGS__)
#define rp_log_info(...) rp_log(RP_LOG_INFO, __VA_ARGS__)
#define rp_log_debug(...)                                                                          \
    do {                                                                                           \
        if (rp_log_min_level >= RP_LOG_DEBUG)                                                      \
            rp_log(RP_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)

/* A file that is reopened by path on request; used by the error and access logs. */
struct rp_log_file {
    _Atomic int fd;
    char path[512]; /* "" for stdout/stderr */
    int std_fd;     /* 1 or 2 when path is "" */
};

/* Open path for appending ("stdout"/"stderr" select those streams). Returns 0 or -errno. */
int rp_log_file_open(struct rp_log_file *f, const char *path);
int rp_log_file_reopen(struct rp_log_file *f);
void rp_log_file_close(struct rp_log_file *f);

#endif
