/* rampart: command line, start-up block, worker threads, and the signal loop (reload on SIGHUP,
 * log reopen on SIGUSR1, upstream counters on SIGUSR2, graceful stop on SIGTERM/SIGINT). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/check.h"
#include "config/config.h"
#include "core/log.h"
#include "lb/health.h"
#include "lb/resolver.h"
#include "lb/server_state.h"
#include "proxy/access_log.h"
#include "proxy/worker.h"
#include "tls/tls_server.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "rampart %s: a reverse proxy, load balancer and API gateway\n"
        "\n"
        "Usage:\n"
        "  rampart -c FILE [--workers N]      run with a configuration file\n"
        "  rampart check -c FILE              validate FILE: exit 0, or print every error\n"
        "                                     as file:line:col: message and exit 1\n"
        "  rampart --listen ADDR --to ADDR [--to ADDR ...] [--workers N]\n"
        "                                     proxy everything to the --to servers, round robin\n"
        "  rampart --version | --help\n"
        "\n"
        "ADDR is host:port, :port or [v6]:port. Signals: HUP reloads the file, USR1 reopens\n"
        "log files, TERM/INT stop gracefully. See docs/config.md.\n",
        RP_VERSION);
}

static void print_errors(struct rp_cfg_errors *errs)
{
    for (uint32_t i = 0; i < errs->n; i++)
        fprintf(stderr, "%s\n", errs->msgs[i]);
}

static unsigned cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static bool same_listeners(const struct rp_config *a, const struct rp_config *b)
{
    if (a->nlisteners != b->nlisteners)
        return false;
    for (uint32_t i = 0; i < a->nlisteners; i++)
        if (strcmp(a->listeners[i].addr.text, b->listeners[i].addr.text))
            return false;
    return true;
}

static void reload(const char *path, const struct rp_config *initial)
{
    struct rp_cfg_errors errs = {0};
    struct rp_config *cfg = rp_config_load_file(path, &errs);
    if (!cfg) {
        rp_log_error("reload of %s failed; the running configuration stays:", path);
        for (uint32_t i = 0; i < errs.n; i++)
            rp_log_error("  %s", errs.msgs[i]);
        rp_cfg_errors_free(&errs);
        return;
    }
    rp_cfg_errors_free(&errs);
    if (!same_listeners(cfg, initial))
        rp_log_warn("reload: listener changes take effect only after a restart");
    int rc = rp_access_log_open(cfg);
    if (rc < 0)
        rp_log_error("reload: cannot open access log %s: %s", cfg->log.access, strerror(-rc));
    rp_log_min_level = cfg->log.level;
    rp_tls_registry_publish(cfg); /* before the workers may drop their old snapshot */
    rp_workers_publish(cfg);
    rp_log_info("reloaded %s: %u upstreams, %u routes", path, cfg->nupstreams, cfg->nroutes);
}

int main(int argc, char **argv)
{
    const char *cfg_path = NULL, *listen = NULL;
    static const char *to[256];
    uint32_t nto = 0;
    long workers = -1;
    bool check = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--version") || !strcmp(a, "-v")) {
            printf("rampart %s\n", RP_VERSION);
            return 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "check") || !strcmp(a, "-t")) {
            check = true;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && val) {
            cfg_path = val;
            i++;
        } else if (!strcmp(a, "--listen") && val) {
            listen = val;
            i++;
        } else if (!strcmp(a, "--to") && val) {
            if (nto == sizeof(to) / sizeof(to[0])) {
                fprintf(stderr, "rampart: at most 256 --to servers\n");
                return 2;
            }
            to[nto++] = val;
            i++;
        } else if (!strcmp(a, "--workers") && val) {
            char *end;
            workers = strtol(val, &end, 10);
            if (*end || workers < 1 || workers > 256) {
                fprintf(stderr, "rampart: --workers takes a number from 1 to 256\n");
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "rampart: unknown or incomplete argument \"%s\"\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (check) {
        if (!cfg_path) {
            fprintf(stderr, "rampart check: needs -c FILE\n");
            return 2;
        }
        return rp_config_check_main(cfg_path, stdout);
    }
    if (!cfg_path && !(listen && nto)) {
        usage(stderr);
        return 2;
    }

    struct rp_cfg_errors errs = {0};
    struct rp_config *cfg = cfg_path ? rp_config_load_file(cfg_path, &errs)
                                     : rp_config_from_cli(listen, to, nto, &errs);
    if (!cfg) {
        print_errors(&errs);
        rp_cfg_errors_free(&errs);
        return 1;
    }
    rp_cfg_errors_free(&errs);
    unsigned n = workers > 0 ? (unsigned)workers : cfg->workers ? cfg->workers : cpu_count();

    int rc = rp_log_open(cfg->log.error, cfg->log.level);
    if (rc < 0) {
        fprintf(stderr, "rampart: cannot open error log %s: %s\n", cfg->log.error, strerror(-rc));
        return 1;
    }
    rc = rp_access_log_open(cfg);
    if (rc < 0) {
        fprintf(stderr, "rampart: cannot open access log %s: %s\n", cfg->log.access, strerror(-rc));
        return 1;
    }

    /* signals go to this thread only: workers inherit the blocked mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());

    struct rp_config *initial = cfg; /* listeners live as long as the process */
    rp_config_ref(initial);
    rp_config_describe(cfg, stderr);
    if (n != cfg->workers) /* the block above said the file's value; say what runs */
        fprintf(stderr, "workers  %u (%s)\n", n, workers > 0 ? "--workers" : "one per CPU");
    rp_tls_registry_publish(cfg);
    if (rp_workers_start(cfg, n) < 0)
        return 1;
    /* active health checks run beside the workers, following the published config */
    int hrc = rp_health_start();
    if (hrc < 0)
        rp_log_error("cannot start the health checker: %s", strerror(-hrc));
    rp_resolver_start();
    rp_log_info("rampart %s started (pid %d)", RP_VERSION, (int)getpid());

    /* every 2 s without a signal: certificate files that changed on disk are loaded again */
    const struct timespec watch_every = {.tv_sec = 2};
    for (;;) {
        int sig = sigtimedwait(&set, NULL, &watch_every);
        if (sig < 0) {
            if (errno == EAGAIN)
                rp_tls_registry_watch();
            continue;
        }
        if (sig == SIGHUP) {
            if (cfg_path)
                reload(cfg_path, initial);
            else
                rp_log_info("SIGHUP: running from the command line, nothing to reload");
        } else if (sig == SIGUSR2) {
            struct rp_config *now = rp_config_acquire_current(NULL);
            if (now) {
                rp_lb_state_log(now); /* upstream and server counters */
                rp_config_unref(now);
            }
        } else if (sig == SIGUSR1) {
            rp_log_reopen();
            rp_log_file_reopen(&rp_access_file);
            rp_log_info("log files reopened");
        } else {
            rp_log_info("%s: stopping; in-flight requests may finish",
                        sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    rp_health_stop(); /* before the workers: it holds a config reference of its own */
    rp_resolver_stop();
    rp_workers_stop_and_join();
    rp_config_unref(atomic_load(&rp_srv.cfg));
    rp_config_unref(initial);
    rp_tls_registry_clear();
    rp_log_info("stopped");
    return 0;
}
