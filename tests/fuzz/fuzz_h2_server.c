/* libFuzzer harness for the HTTP/2 client side (src/h2/): the input is what a client sends
 * after the connection preface, fed through a socket pair into a real session on a private
 * worker loop whose routes answer locally, redirect and proxy (to a closed port: 502). Every
 * session must end and free what it took once the client goes away. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "lb/balancer.h"
#include "proxy/session.h"

static const char yaml[] =
    "listen: \"127.0.0.1:1\"\n"
    "upstreams: {app: {servers: [{address: \"127.0.0.1:1\"}]}}\n"
    "http2: {max_concurrent_streams: 8, initial_window: 16k, max_resets: 20}\n"
    "limits: {max_header_size: 2k, max_headers: 20, max_request_line: 512}\n"
    "log: {access: \"off\"}\n"
    "routes:\n"
    "  - match: {path_prefix: /p}\n"
    "    proxy: app\n"
    "  - match: {path_prefix: /r}\n"
    "    redirect: {location: \"/x$request_uri\"}\n"
    "  - match: {path: /}\n"
    "    respond: {status: 200, body: \"hello\"}\n";

static struct rp_worker w;
static struct rp_config *cfg;

static void setup(void)
{
    struct rp_cfg_errors errs = {0};
    rp_log_open("stderr", RP_LOG_ERROR);
    cfg = rp_config_load_buffer("fuzz.yaml", yaml, strlen(yaml), &errs);
    if (!cfg || rp_loop_init(&w.loop) != 0)
        abort();
    w.loop.data = &w;
    struct rp_cfg_slot *slot = calloc(1, sizeof(*slot));
    if (!slot)
        abort();
    slot->cfg = cfg;
    slot->lb = rp_lb_states_new(cfg);
    slot->current = true;
    w.slot = slot;
    w.rng = 88172645463325252ULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    static char sink[65536];
    if (!cfg)
        setup();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return 0;
    if (send(sv[1], preface, sizeof(preface) - 1, MSG_NOSIGNAL) != sizeof(preface) - 1)
        abort();
    struct sockaddr_storage peer = {.ss_family = AF_INET};
    rp_session_accept(&w, sv[0], &cfg->listeners[0], &peer);
    size_t off = 0;
    for (int i = 0; i < 24; i++) {
        if (off < size) {
            ssize_t n = send(sv[1], data + off, size - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
        }
        while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
            ;
        rp_loop_run_once(&w.loop, 0);
    }
    close(sv[1]); /* the client goes away: everything of its connection must end */
    for (int i = 0; i < 64 && w.nsessions; i++)
        rp_loop_run_once(&w.loop, 0);
    while (w.sessions)
        rp_session_drain(w.sessions, true);
    for (int i = 0; i < 8; i++)
        rp_loop_run_once(&w.loop, 0); /* deferred frees */
    return 0;
}
