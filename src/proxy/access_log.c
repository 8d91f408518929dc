/* The access log: one line per exchange, combined-like text or JSON, written with a single
 * write(2) to stdout or an O_APPEND file that SIGUSR1 reopens. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/access_log.h"
#include "proxy/exchange_run.h"
#include "proxy/session.h"

struct rp_log_file rp_access_file = {.fd = 1, .path = "", .std_fd = 1};

int rp_access_log_open(const struct rp_config *cfg)
{
    if (!strcmp(cfg->log.access, "off"))
        return 0;
    return rp_log_file_open(&rp_access_file, cfg->log.access);
}

struct line {
    char *p;
    size_t n, cap;
};

static void add(struct line *l, const char *s, size_t n)
{
    if (l->cap - l->n < n)
        n = l->cap - l->n;
    memcpy(l->p + l->n, s, n);
    l->n += n;
}

static void addf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(l->p + l->n, l->cap - l->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        l->n += (size_t)k < l->cap - l->n ? (size_t)k : l->cap - l->n - 1;
}

/* Untrusted text: control bytes, quotes and backslashes escaped (both formats). */
static void add_escaped(struct line *l, struct rp_slice s, bool json)
{
    for (size_t i = 0; i < s.n && l->n + 8 < l->cap; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            add(l, e, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            addf(l, json ? "\\u%04x" : "\\x%02x", c);
        } else {
            add(l, (const char *)&c, 1);
        }
    }
}

static struct rp_slice header(const struct rp_exchange *x, const char *name)
{
    const struct rp_header *h = x->req.hdrs ? rp_msg_find(&x->req, rp_slice_cstr(name)) : NULL;
    return h ? h->value : RP_SLICE_LIT("-");
}

void rp_access_log(const struct rp_exchange *x)
{
    const struct rp_config *cfg = x->cfg;
    if (!strcmp(cfg->log.access, "off"))
        return;
    char buf[4096];
    struct line l = {buf, 0, sizeof(buf) - 1};
    double ms = (double)(rp_clock_mono_us() - x->start_us) / 1000.0;
    double ums = (double)x->upstream_us / 1000.0;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    struct rp_slice method = x->req.method.n ? x->req.method : RP_SLICE_LIT("-");
    struct rp_slice target = x->req.target.n ? x->req.target : RP_SLICE_LIT("-");
    const char *proto = x->s->h2s ? "HTTP/2.0" : x->req.version == 10 ? "HTTP/1.0" : "HTTP/1.1";
    const char *up = x->upstream_addr[0] ? x->upstream_addr : "-";
    if (cfg->log.format == RP_LOG_JSON) {
        char ts[32];
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        addf(&l, "{\"time\":\"%s\",\"client\":\"%s\",\"method\":\"", ts, x->s->peer_ip);
        add_escaped(&l, method, true);
        add(&l, "\",\"target\":\"", 12);
        add_escaped(&l, target, true);
        addf(&l, "\",\"protocol\":\"%s\",\"host\":\"", proto);
        add_escaped(&l, x->req.host, true);
        addf(&l,
             "\",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,\"duration_ms\":%.3f,"
             "\"upstream\":\"%s\",\"upstream_ms\":%.3f,\"request_id\":\"%s\",\"user_agent\":\"",
             x->status, (unsigned long long)x->bytes_in, (unsigned long long)x->bytes_out, ms, up,
             ums, x->request_id);
        add_escaped(&l, header(x, "user-agent"), true);
        add(&l, "\"}\n", 3);
    } else {
        char ts[40];
        strftime(ts, sizeof(ts), "%d/%b/%Y:%H:%M:%S +0000", &tm);
        addf(&l, "%s - - [%s] \"", x->s->peer_ip, ts);
        add_escaped(&l, method, false);
        add(&l, " ", 1);
        add_escaped(&l, target, false);
        addf(&l, " %s\" %d %llu \"", proto, x->status, (unsigned long long)x->bytes_out);
        add_escaped(&l, header(x, "referer"), false);
        add(&l, "\" \"", 3);
        add_escaped(&l, header(x, "user-agent"), false);
        addf(&l, "\" in=%llu rt=%.3f upstream=%s urt=%.3f rid=%s\n",
             (unsigned long long)x->bytes_in, ms / 1000.0, up, ums / 1000.0, x->request_id);
    }
    if (l.n && l.p[l.n - 1] != '\n')
        l.p[l.n++] = '\n';
    int fd = atomic_load(&rp_access_file.fd);
    if (fd >= 0 && write(fd, l.p, l.n) < 0) {
        /* a full disk must not stop the proxy */
    }
}
