/* The process-local state of native TCP connections, shared by the psf_tcp_*.c files. */
#ifndef PSF_TCP_INTERNAL_H
#define PSF_TCP_INTERNAL_H

#include <stdbool.h>

#include "psf_internal.h"

struct psf_tcp_listener {
    int fd;
    int epoll_fd;   /* waits for a pending connection with a timeout */
};

struct psf_tcp_conn {
    int fd;         /* non-blocking, TCP_NODELAY */
    int epoll_fd;   /* holds fd; its interest is switched between reading and writing */
    uint32_t interest;
    bool broken;    /* a send was cut short: the byte stream can no longer be trusted */
};

/* Waits until fd is ready for `events` (EPOLLIN or EPOLLOUT) or the deadline passes:
 * PSF_OK, PSF_E_TIMEOUT or PSF_E_SYSTEM. */
int32_t psf_tcp_wait(int epoll_fd, int fd, uint32_t *interest, uint32_t events, int64_t deadline_ns);

/* Wraps a connected socket: non-blocking, TCP_NODELAY, its own epoll set. */
int32_t psf_tcp_wrap(int fd, psf_tcp_conn **out);

#endif
