/* Buffered socket I/O for edge-triggered epoll; see sock_io.h. */
#include "net/sock_io.h"

#include <errno.h>
#include <sys/socket.h>

ssize_t rp_sock_recv(int fd, struct rp_buf *b, bool *can_read, bool rdhup)
{
    for (;;) {
        ssize_t n = recv(fd, rp_buf_wptr(b), rp_buf_room(b), 0);
        if (n > 0) {
            if ((size_t)n < rp_buf_room(b) && !rdhup)
                *can_read = false;
            b->tail += (size_t)n;
            return n;
        }
        if (n == 0)
            return RP_SOCK_EOF;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            *can_read = false;
            return 0;
        }
        return RP_SOCK_ERR;
    }
}

ssize_t rp_sock_send(int fd, struct rp_buf *b, bool *can_write, int *err)
{
    ssize_t total = 0;
    *err = 0;
    while (rp_buf_len(b) && *can_write) {
        ssize_t n = send(fd, rp_buf_rptr(b), rp_buf_len(b), MSG_NOSIGNAL);
        if (n > 0) {
            rp_buf_consume(b, (size_t)n);
            total += n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            *can_write = false;
            break;
        }
        *err = n < 0 ? -errno : -EPIPE;
        break;
    }
    return total;
}
