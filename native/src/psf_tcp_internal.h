/* The process-local state of native TCP connections, shared by the psf_tcp_*.c files. */
#ifndef PSF_TCP_INTERNAL_H
#define PSF_TCP_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "psf_internal.h"

struct psf_tcp_listener {
    int fd;         /* non-blocking */
    int epoll_fd;   /* waits for a pending connection with a timeout */
};

/* The socket itself stays in blocking mode: an unbounded wait (the receive thread's, a send
 * waiting for room) is then one blocking system call, as in a plain C program, instead of
 * recvmsg -> EAGAIN -> epoll_wait -> recvmsg. Calls that must not block pass MSG_DONTWAIT, and
 * bounded waits add an epoll set per direction, so a sending and a receiving thread never
 * change each other's interest. */
struct psf_tcp_conn {
    int fd;         /* blocking, TCP_NODELAY */
    int epoll_in;   /* holds fd for EPOLLIN: bounded receive waits */
    int epoll_out;  /* holds fd for EPOLLOUT: bounded send waits */
    _Atomic bool broken; /* a send was cut short, or shutdown: frame boundaries are lost */
};

/* Waits until epoll_fd reports its socket ready or the deadline passes:
 * PSF_OK, PSF_E_TIMEOUT or PSF_E_SYSTEM. */
int32_t psf_tcp_wait(int epoll_fd, int64_t deadline_ns);

/* Wraps a connected socket: blocking, TCP_NODELAY, one epoll set per direction. */
int32_t psf_tcp_wrap(int fd, psf_tcp_conn **out);

#endif
