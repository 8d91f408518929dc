/* Buffered socket I/O for edge-triggered epoll, shared by client sessions and backend
 * connections: the readiness flag is cleared exactly when the kernel says no more can move,
 * so the owner waits for the next edge and never re-polls in vain. */
#ifndef RP_NET_SOCK_IO_H
#define RP_NET_SOCK_IO_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/buf.h"

#define RP_SOCK_EOF (-1) /* the peer closed its side */
#define RP_SOCK_ERR (-2) /* a socket error (reset, ...) */

/* One recv into the free room of b (the caller reserved it). Returns the bytes read (> 0),
 * 0 when nothing is there (*can_read cleared), RP_SOCK_EOF or RP_SOCK_ERR. A short read clears
 * *can_read as well: the socket is drained and the next bytes raise a new edge; unless rdhup
 * (the peer's FIN was signalled), which only recv can confirm. */
ssize_t rp_sock_recv(int fd, struct rp_buf *b, bool *can_read, bool rdhup);

/* Send what b holds while the socket takes it. Returns the bytes sent (>= 0); *can_write is
 * cleared when the socket is full; *err is 0, or -errno after an error (-EPIPE for a zero-byte
 * send), in which case the bytes sent before it are still counted. */
ssize_t rp_sock_send(int fd, struct rp_buf *b, bool *can_write, int *err);

#endif
