/* Configuration diagnostics: collected with positions during a load, then sorted into file order
 * and capped when handed to the caller, so the first message is the first problem in the file. */
#include "config/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/node.h"

/* Internal bound on kept messages: enough to sort the first RP_CFG_MAX_ERRORS by position even
 * when errors are found out of file order, small enough that fuzzed input stays cheap. */
#define DIAG_KEEP 1000

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

__attribute__((format(printf, 5, 0))) static void
diag_vadd(struct rp_cfg_diags *d, const char *file, int line, int col, const char *fmt, va_list ap)
{
    if (d->n >= DIAG_KEEP) {
        d->dropped++;
        return;
    }
    if (d->n == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 16;
        struct rp_cfg_diag *v = realloc(d->v, cap * sizeof(*v));
        if (!v) {
            d->dropped++;
            return;
        }
        d->v = v;
        d->cap = cap;
    }
    char *body = vformat(fmt, ap);
    char *msg = NULL;
    if (body) {
        size_t n = strlen(file) + strlen(body) + 32;
        msg = malloc(n);
        if (msg && line > 0)
            snprintf(msg, n, "%s:%d:%d: %s", file, line, col, body);
        else if (msg)
            snprintf(msg, n, "%s: %s", file, body);
        free(body);
    }
    if (!msg) {
        d->dropped++;
        return;
    }
    d->v[d->n++] = (struct rp_cfg_diag){line, col, msg};
}

void rp_cfg_diag_add(struct rp_cfg_diags *d, const char *file, int line, int col, const char *fmt,
                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(d, file, line, col, fmt, ap);
    va_end(ap);
}

void rp_cfg_diag_at(struct rp_cfg_diags *d, const struct rp_cfg_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(d, n->file, n->line, n->col, fmt, ap);
    va_end(ap);
}

uint32_t rp_cfg_diag_count(const struct rp_cfg_diags *d)
{
    return d->n + d->dropped;
}

static void errors_push(struct rp_cfg_errors *out, char *msg)
{
    if (out->n > RP_CFG_MAX_ERRORS) {
        free(msg);
        return;
    }
    if (out->n == RP_CFG_MAX_ERRORS) {
        /* one closing line, so the reader knows the list is cut */
        free(msg);
        const char note[] = "too many errors; only the first 50 are shown";
        msg = malloc(sizeof(note));
        if (!msg)
            return;
        memcpy(msg, note, sizeof(note));
    }
    if (out->n == out->cap) {
        uint32_t cap = out->cap ? out->cap * 2 : 8;
        char **v = realloc(out->msgs, cap * sizeof(*v));
        if (!v) {
            free(msg);
            return;
        }
        out->msgs = v;
        out->cap = cap;
    }
    out->msgs[out->n++] = msg;
}

void rp_cfg_errors_add(struct rp_cfg_errors *out, const char *fmt, ...)
{
    if (!out)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    if (msg)
        errors_push(out, msg);
}

/* Stable sort by position: insertion sort is fine for the few errors a real file has and bounded
 * by DIAG_KEEP for a hostile one. Messages without a position keep their place at the front. */
static void sort_diags(struct rp_cfg_diags *d)
{
    for (uint32_t i = 1; i < d->n; i++) {
        struct rp_cfg_diag x = d->v[i];
        uint32_t j = i;
        while (j > 0 && (d->v[j - 1].line > x.line ||
                         (d->v[j - 1].line == x.line && d->v[j - 1].col > x.col))) {
            d->v[j] = d->v[j - 1];
            j--;
        }
        d->v[j] = x;
    }
}

void rp_cfg_diags_flush(struct rp_cfg_diags *d, struct rp_cfg_errors *out)
{
    sort_diags(d);
    for (uint32_t i = 0; i < d->n; i++) {
        if (out)
            errors_push(out, d->v[i].msg);
        else
            free(d->v[i].msg);
    }
    if (out && d->dropped && out->n == 0) /* every message lost to OOM: still say something */
        rp_cfg_errors_add(out, "configuration has errors (out of memory while reporting them)");
    free(d->v);
    memset(d, 0, sizeof(*d));
}

void rp_cfg_errors_free(struct rp_cfg_errors *errs)
{
    if (!errs)
        return;
    for (uint32_t i = 0; i < errs->n; i++)
        free(errs->msgs[i]);
    free(errs->msgs);
    errs->msgs = NULL;
    errs->n = errs->cap = 0;
}
