/* Active health checks: one thread with its own event loop runs HTTP (plain or TLS, like the
 * upstream) or TCP-connect checks of every server of every upstream with `health_check:`,
 * following config reloads, and records results in the servers' shared runtime state
 * (rp_server_check_result), so every worker sees a change at once and none ever blocks on a
 * check. */
#ifndef RP_LB_HEALTH_H
#define RP_LB_HEALTH_H

/* Start the checker thread (it follows rp_config_acquire_current). 0 or -errno. */
int rp_health_start(void);
/* Stop it and wait for it. Safe when not started. */
void rp_health_stop(void);

#endif
