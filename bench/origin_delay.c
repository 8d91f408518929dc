/* A tiny HTTP/1.1 origin for the load-balancing benchmark (bench/lb.sh): one thread, epoll,
 * keep-alive, a fixed 200 response of N bytes on every port it listens on, each port with its
 * own fixed delay before the response (0 = at once), so one of several backends can be slow.
 *
 * Usage: origin_delay [-s BYTES] PORT[:DELAY_MS]...   (127.0.0.1 only, up to 16 ports)
 * GET /_stats on any port answers at once with the requests served per port since start, in
 * argument order ("12 7 0 3\n"); those requests are not counted. Requests carry no body (a
 * request with one is answered 400 and closed); pipelined requests are answered in order.
 * Delays: every port keeps a FIFO of waiting connections (same delay for all, so due times only
 * grow along it) and one timerfd is armed for the earliest head, which keeps it exact to the
 * timer's slack rather than to epoll_wait's milliseconds. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, accept4 */
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 16
#define IN_CAP 8192

enum kind { K_LISTENER, K_CONN, K_TIMER };

struct conn;

struct port {
    enum kind kind; /* first: epoll data points at a port, a conn or the timer tag */
    int fd;
    unsigned port;
    uint64_t delay_ns;
    uint64_t served;
    struct conn *qhead, *qtail; /* connections waiting for their delayed response */
};

struct conn {
    enum kind kind;
    int fd; /* -1 once closed (the struct may still sit in a queue) */
    struct port *p;
    char in[IN_CAP];
    size_t inlen;
    const char *out; /* response being written, or NULL */
    size_t outlen, outoff;
    bool waiting;     /* head parsed, in p's queue until due */
    bool close_after; /* Connection: close, HTTP/1.0, or an error answer */
    uint64_t due_ns;
    struct conn *qnext;
    char stats[16 * 24 + 160];
};

static struct port ports[MAX_PORTS];
static size_t nports;
static char *resp;
static size_t resp_len;
static int epfd, tfd;
static uint64_t armed_ns; /* due time the timerfd is armed for; 0 = disarmed */
static const char bad_req[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether hay[0..len) contains needle, ignoring ASCII case. */
static const char *find_ci(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    if (!c->waiting)
        free(c); /* a waiting one is freed when its queue pops it */
}

/* Writes what is pending; false if the connection was closed. */
static bool flush_out(struct conn *c)
{
    while (c->out && c->outoff < c->outlen) {
        ssize_t n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return true; /* EPOLLOUT (edge) calls us again */
        if (n <= 0) {
            conn_close(c);
            return false;
        }
        c->outoff += (size_t)n;
    }
    if (c->out && c->close_after) {
        conn_close(c);
        return false;
    }
    c->out = NULL;
    return true;
}

static void respond(struct conn *c, const char *buf, size_t len)
{
    c->out = buf;
    c->outlen = len;
    c->outoff = 0;
}

/* Parses one request head from c->in if complete; answers it or queues it. Returns true if it
 * consumed a head (so the caller loops). */
static bool take_request(struct conn *c)
{
    char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
    if (!end)
        return false;
    size_t head = (size_t)(end - c->in) + 4;
    const char *eol = memmem(c->in, head, "\r\n", 2);
    size_t line = (size_t)(eol - c->in);
    const char *cl = find_ci(c->in, head, "\r\ncontent-length:");
    bool body = find_ci(c->in, head, "\r\ntransfer-encoding:") != NULL;
    if (cl) {
        cl += strlen("\r\ncontent-length:");
        while (*cl == ' ' || *cl == '\t')
            cl++;
        body = body || *cl != '0';
    }
    c->close_after = find_ci(c->in, head, "\r\nconnection: close") != NULL ||
                     (line >= 8 && memcmp(c->in + line - 8, "HTTP/1.0", 8) == 0);
    bool stats = line >= 12 && memcmp(c->in, "GET /_stats ", 12) == 0;
    memmove(c->in, c->in + head, c->inlen - head);
    c->inlen -= head;
    if (body) {
        c->close_after = true;
        respond(c, bad_req, sizeof(bad_req) - 1);
    } else if (stats) {
        char list[16 * 24] = "";
        size_t off = 0;
        for (size_t i = 0; i < nports && off < sizeof(list); i++)
            off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%llu", i ? " " : "",
                                    (unsigned long long)ports[i].served);
        size_t blen = strlen(list) + 1;
        int n = snprintf(c->stats, sizeof(c->stats),
                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         "Content-Length: %zu\r\n\r\n%s\n",
                         blen, list);
        respond(c, c->stats, (size_t)n);
    } else {
        c->p->served++;
        if (c->p->delay_ns) {
            c->waiting = true;
            c->due_ns = now_ns() + c->p->delay_ns;
            c->qnext = NULL;
            if (c->p->qtail)
                c->p->qtail->qnext = c;
            else
                c->p->qhead = c;
            c->p->qtail = c;
        } else {
            respond(c, resp, resp_len);
        }
    }
    return true;
}

/* Moves a connection along: read what is there, write what is pending, take the next request.
 * Called on every epoll event of c and when its delay ends. */
static void conn_run(struct conn *c)
{
    for (;;) {
        bool eof = false;
        while (c->inlen < IN_CAP) {
            ssize_t n = read(c->fd, c->in + c->inlen, IN_CAP - c->inlen);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                break;
            if (n <= 0) {
                eof = true;
                break;
            }
            c->inlen += (size_t)n;
        }
        if (eof) {
            conn_close(c);
            return;
        }
        if (!flush_out(c))
            return;
        if (c->out || c->waiting)
            return; /* wait for EPOLLOUT or the timer */
        if (!take_request(c)) {
            if (c->inlen == IN_CAP) { /* a head larger than the buffer */
                conn_close(c);
                return;
            }
            return;
        }
        if (c->waiting)
            return;
    }
}

static void on_accept(struct port *p)
{
    for (;;) {
        int fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of fds: the next event retries */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->kind = K_CONN;
        c->fd = fd;
        c->p = p;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
        }
    }
}

/* Answers every queued request that is due, then arms the timer for the earliest one left. */
static void run_due(void)
{
    uint64_t now = now_ns(), next = 0;
    for (size_t i = 0; i < nports; i++) {
        struct port *p = &ports[i];
        while (p->qhead && p->qhead->due_ns <= now) {
            struct conn *c = p->qhead;
            p->qhead = c->qnext;
            if (!p->qhead)
                p->qtail = NULL;
            c->waiting = false;
            if (c->fd < 0) {
                free(c); /* the client left while it waited */
                continue;
            }
            respond(c, resp, resp_len);
            conn_run(c);
        }
        if (p->qhead && (!next || p->qhead->due_ns < next))
            next = p->qhead->due_ns;
    }
    if (next == armed_ns)
        return;
    struct itimerspec its = {0};
    if (next) {
        its.it_value.tv_sec = (time_t)(next / 1000000000u);
        its.it_value.tv_nsec = (long)(next % 1000000000u);
    }
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    armed_ns = next;
}

static int listen_on(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
        perror("origin_delay: listen");
        exit(1);
    }
    return fd;
}

static bool parse_u(const char *s, char **end, unsigned long max, unsigned long *out)
{
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoul(s, end, 10);
    return errno == 0 && *out <= max;
}

int main(int argc, char **argv)
{
    unsigned long size = 128;
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "-s") == 0) {
        char *end;
        if (!parse_u(argv[i + 1], &end, 64ul << 20, &size) || *end) {
            fprintf(stderr, "origin_delay: bad size %s\n", argv[i + 1]);
            return 2;
        }
        i += 2;
    }
    if (i >= argc || argc - i > MAX_PORTS) {
        fprintf(stderr, "usage: origin_delay [-s BYTES] PORT[:DELAY_MS]... (1-%d ports)\n",
                MAX_PORTS);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epfd < 0 || tfd < 0) {
        perror("origin_delay");
        return 1;
    }
    static enum kind timer_tag = K_TIMER;
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = &timer_tag};
    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);
    for (; i < argc; i++) {
        unsigned long port, ms = 0;
        char *end;
        if (!parse_u(argv[i], &end, 65535, &port) || !port ||
            (*end == ':' && !parse_u(end + 1, &end, 3600000, &ms)) || *end) {
            fprintf(stderr, "origin_delay: bad PORT[:DELAY_MS] %s\n", argv[i]);
            return 2;
        }
        struct port *p = &ports[nports++];
        p->kind = K_LISTENER;
        p->port = (unsigned)port;
        p->delay_ns = (uint64_t)ms * 1000000u;
        p->fd = listen_on(p->port);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
        epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &ev);
        fprintf(stderr, "origin_delay: 127.0.0.1:%lu, delay %lu ms, %lu-byte body\n", port, ms,
                size);
    }
    char head[160];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Length: %lu\r\n\r\n",
                      size);
    resp_len = (size_t)hl + size;
    resp = malloc(resp_len);
    if (!resp)
        return 1;
    memcpy(resp, head, (size_t)hl);
    memset(resp + hl, 'x', size);

    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(epfd, evs, 256, -1);
        if (n < 0 && errno != EINTR) {
            perror("origin_delay: epoll_wait");
            return 1;
        }
        for (int k = 0; k < n; k++) {
            enum kind *kind = evs[k].data.ptr;
            if (*kind == K_LISTENER) {
                on_accept((struct port *)kind);
            } else if (*kind == K_CONN) {
                conn_run((struct conn *)kind);
            } else {
                uint64_t ticks;
                ssize_t r = read(tfd, &ticks, sizeof(ticks));
                (void)r;
                armed_ns = 0; /* it fired (or was re-armed and will fire): arm anew below */
            }
        }
        run_due();
    }
}
