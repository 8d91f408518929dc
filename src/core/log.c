/* Error log implementation and the reopenable log file shared with the access log. */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int rp_log_min_level = RP_LOG_INFO;

static struct rp_log_file error_log = {.fd = 2, .path = "", .std_fd = 2};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int rp_log_file_open(struct rp_log_file *f, const char *path)
{
    if (!path || !strcmp(path, "stderr") || !strcmp(path, "stdout")) {
        f->path[0] = '\0';
        f->std_fd = (path && !strcmp(path, "stdout")) ? 1 : 2;
        atomic_store(&f->fd, f->std_fd);
        return 0;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    snprintf(f->path, sizeof(f->path), "%s", path);
    int old = atomic_exchange(&f->fd, fd);
    if (old > 2)
        close(old);
    return 0;
}

int rp_log_file_reopen(struct rp_log_file *f)
{
    if (!f->path[0])
        return 0;
    int fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int old = atomic_exchange(&f->fd, fd);
    /* a writer may still hold the old number for one write; closing it now could let that write
     * land in a file opened meanwhile, so the old descriptor is closed after a short grace */
    if (old > 2) {
        usleep(1000);
        close(old);
    }
    return 0;
}

void rp_log_file_close(struct rp_log_file *f)
{
    int old = atomic_exchange(&f->fd, -1);
    if (old > 2)
        close(old);
}

int rp_log_open(const char *path, enum rp_log_level level)
{
    rp_log_min_level = (int)level;
    return rp_log_file_open(&error_log, path);
}

int rp_log_reopen(void)
{
    return rp_log_file_reopen(&error_log);
}

void rp_log(enum rp_log_level level, const char *fmt, ...)
{
    if ((int)level > rp_log_min_level)
        return;
    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    int fd = atomic_load(&error_log.fd);
    if (fd >= 0 && write(fd, line, len) < 0) {
        /* nowhere left to report a failing error log */
    }
}
