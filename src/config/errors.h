/* Configuration diagnostics. While loading, errors are gathered with their positions, then sorted
 * into file order and handed to the caller's rp_cfg_errors as "file:line:col: message" lines,
 * capped so that a hopeless file cannot flood the terminal (or memory). */
#ifndef RP_CONFIG_ERRORS_H
#define RP_CONFIG_ERRORS_H

#include <stdint.h>

#include "config/config.h"

/* At most this many messages reach the caller, plus one closing "too many errors" line. */
#define RP_CFG_MAX_ERRORS 50

struct rp_cfg_node;

struct rp_cfg_diag {
    int line, col; /* 0 when the message has no position (a file that cannot be opened) */
    char *msg;     /* the full "file:line:col: message" text, malloc'd */
};

struct rp_cfg_diags {
    struct rp_cfg_diag *v;
    uint32_t n, cap;
    uint32_t dropped; /* errors past the internal bound, counted only */
};

/* Record an error at file:line:col. Out of memory drops the message but still counts it, so a
 * load that saw an error always fails. */
void rp_cfg_diag_add(struct rp_cfg_diags *d, const char *file, int line, int col, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));

/* Record an error at the position of node n. */
void rp_cfg_diag_at(struct rp_cfg_diags *d, const struct rp_cfg_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Number of errors recorded so far (including dropped ones). */
uint32_t rp_cfg_diag_count(const struct rp_cfg_diags *d);

/* Sort the recorded errors by position (stable), move them to out (which may be NULL: then
 * they are discarded) with the cap applied, and empty d. */
void rp_cfg_diags_flush(struct rp_cfg_diags *d, struct rp_cfg_errors *out);

/* Append one message to out directly, respecting the cap. */
void rp_cfg_errors_add(struct rp_cfg_errors *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
