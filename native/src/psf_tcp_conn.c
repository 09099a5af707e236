/* Opening and closing native TCP connections (IPv4 and IPv6 literal addresses). */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "psf_tcp_internal.h"

static int32_t parse_address(const char *address, uint16_t port, struct sockaddr_storage *out,
                             socklen_t *length)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (address != NULL && inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *length = sizeof *v4;
        return PSF_OK;
    }
    if (address != NULL && inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *length = sizeof *v6;
        return PSF_OK;
    }
    return psf_fail(PSF_E_INVALID, "tcp: '%.64s' is not an IPv4 or IPv6 literal address",
                    address == NULL ? "(null)" : address);
}

int32_t psf_tcp_wait(int epoll_fd, int64_t deadline_ns)
{
    for (;;) {
        int64_t left = deadline_ns - psf_now_ns();
        if (left <= 0)
            return PSF_E_TIMEOUT;
        /* Round up so a 0.5 ms remainder still waits instead of spinning. */
        int64_t ms = (left + 999999) / 1000000;
        struct epoll_event ready;
        int count = epoll_wait(epoll_fd, &ready, 1, ms > 1000000 ? 1000000 : (int)ms);
        if (count > 0)
            return PSF_OK;
        if (count < 0 && errno != EINTR)
            return psf_fail_errno("tcp: epoll_wait");
    }
}

static int new_epoll(int fd, uint32_t events)
{
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0)
        return -1;
    struct epoll_event interest = { .events = events, .data.fd = fd };
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &interest) != 0) {
        close(epoll_fd);
        return -1;
    }
    return epoll_fd;
}

int32_t psf_tcp_wrap(int fd, psf_tcp_conn **out)
{
    int one = 1;
    /* Frames are batched by the caller; Nagle would only add latency to the last one. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    psf_tcp_conn *conn = calloc(1, sizeof *conn);
    /* Level-triggered, never modified: each wait just asks "ready now?". */
    int epoll_in = new_epoll(fd, EPOLLIN);
    int epoll_out = new_epoll(fd, EPOLLOUT);
    if (conn == NULL || epoll_in < 0 || epoll_out < 0) {
        int32_t status = conn == NULL ? psf_fail(PSF_E_NOMEM, "tcp: out of memory")
                                      : psf_fail_errno("tcp: epoll_create1");
        if (epoll_in >= 0)
            close(epoll_in);
        if (epoll_out >= 0)
            close(epoll_out);
        free(conn);
        close(fd);
        return status;
    }
    conn->fd = fd;
    conn->epoll_in = epoll_in;
    conn->epoll_out = epoll_out;
    *out = conn;
    return PSF_OK;
}

int32_t psf_tcp_listen(const char *address, uint16_t port, psf_tcp_listener **out,
                       uint16_t *bound_port)
{
    if (out == NULL)
        return psf_fail(PSF_E_INVALID, "psf_tcp_listen: null output");
    *out = NULL;
    struct sockaddr_storage where;
    socklen_t length = 0;
    int32_t status = parse_address(address, port, &where, &length);
    if (status < 0)
        return status;
    int fd = socket(where.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return psf_fail_errno("psf_tcp_listen: socket(%s)", address);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&where, length) != 0 || listen(fd, 128) != 0) {
        status = psf_fail_errno("psf_tcp_listen: bind/listen %s port %u", address, port);
        close(fd);
        return status;
    }
    if (bound_port != NULL) {
        getsockname(fd, (struct sockaddr *)&where, &length);
        *bound_port = ntohs(where.ss_family == AF_INET ? ((struct sockaddr_in *)&where)->sin_port
                                                       : ((struct sockaddr_in6 *)&where)->sin6_port);
    }
    psf_tcp_listener *listener = calloc(1, sizeof *listener);
    int epoll_fd = new_epoll(fd, EPOLLIN);
    if (listener == NULL || epoll_fd < 0) {
        free(listener);
        close(fd);
        return psf_fail(PSF_E_NOMEM, "psf_tcp_listen: out of memory or epoll");
    }
    listener->fd = fd;
    listener->epoll_fd = epoll_fd;
    *out = listener;
    return PSF_OK;
}

int32_t psf_tcp_accept(psf_tcp_listener *listener, int64_t timeout_ns, psf_tcp_conn **out)
{
    if (listener == NULL || out == NULL)
        return psf_fail(PSF_E_INVALID, "psf_tcp_accept: null argument");
    *out = NULL;
    int64_t deadline = psf_deadline(timeout_ns);
    for (;;) {
        int fd = accept4(listener->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            return psf_tcp_wrap(fd, out);
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            return psf_fail_errno("psf_tcp_accept");
        int32_t status = psf_tcp_wait(listener->epoll_fd, deadline);
        if (status < 0)
            return status;
    }
}

int32_t psf_tcp_listener_close(psf_tcp_listener *listener)
{
    if (listener == NULL)
        return PSF_OK;
    close(listener->epoll_fd);
    close(listener->fd);
    free(listener);
    return PSF_OK;
}

int32_t psf_tcp_connect(const char *address, uint16_t port, int64_t timeout_ns,
                        psf_tcp_conn **out)
{
    if (out == NULL)
        return psf_fail(PSF_E_INVALID, "psf_tcp_connect: null output");
    *out = NULL;
    struct sockaddr_storage where;
    socklen_t length = 0;
    int32_t status = parse_address(address, port, &where, &length);
    if (status < 0)
        return status;
    int64_t deadline = psf_deadline(timeout_ns);
    int fd = socket(where.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return psf_fail_errno("psf_tcp_connect: socket(%s)", address);
    if (connect(fd, (struct sockaddr *)&where, length) != 0) {
        if (errno != EINPROGRESS) {
            status = errno == ECONNREFUSED
                         ? psf_fail(PSF_E_CLOSED, "psf_tcp_connect: %s port %u refused", address, port)
                         : psf_fail_errno("psf_tcp_connect: %s port %u", address, port);
            close(fd);
            return status;
        }
        int epoll_fd = new_epoll(fd, EPOLLOUT);
        status = epoll_fd < 0 ? psf_fail_errno("psf_tcp_connect: epoll")
                              : psf_tcp_wait(epoll_fd, deadline);
        if (epoll_fd >= 0)
            close(epoll_fd);
        int error = 0;
        socklen_t error_length = sizeof error;
        if (status == PSF_OK && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_length) == 0 &&
            error != 0) {
            errno = error;
            status = error == ECONNREFUSED
                         ? psf_fail(PSF_E_CLOSED, "psf_tcp_connect: %s port %u refused", address, port)
                         : psf_fail_errno("psf_tcp_connect: %s port %u", address, port);
        } else if (status == PSF_E_TIMEOUT) {
            psf_fail(status, "psf_tcp_connect: %s port %u timed out", address, port);
        }
        if (status < 0) {
            close(fd);
            return status;
        }
    }
    return psf_tcp_wrap(fd, out);
}

int32_t psf_tcp_shutdown(psf_tcp_conn *conn)
{
    if (conn == NULL)
        return psf_fail(PSF_E_INVALID, "psf_tcp_shutdown: null connection");
    atomic_store(&conn->broken, true);
    /* Wakes a thread blocked in recvmsg (it reads end of stream) or sendmsg (EPIPE), and
     * sends FIN; the descriptor stays valid until psf_tcp_close. */
    if (shutdown(conn->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
        return psf_fail_errno("psf_tcp_shutdown");
    return PSF_OK;
}

int32_t psf_tcp_peer(psf_tcp_conn *conn, char *address, uint32_t cap, uint16_t *port)
{
    if (conn == NULL || address == NULL || port == NULL || cap < INET6_ADDRSTRLEN)
        return psf_fail(PSF_E_INVALID, "psf_tcp_peer: null argument or cap < %d", INET6_ADDRSTRLEN);
    struct sockaddr_storage peer;
    socklen_t length = sizeof peer;
    if (getpeername(conn->fd, (struct sockaddr *)&peer, &length) != 0)
        return psf_fail_errno("psf_tcp_peer: getpeername");
    const void *where = peer.ss_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)&peer)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)&peer)->sin6_addr;
    if (inet_ntop(peer.ss_family, where, address, cap) == NULL)
        return psf_fail_errno("psf_tcp_peer: inet_ntop");
    *port = ntohs(peer.ss_family == AF_INET ? ((struct sockaddr_in *)&peer)->sin_port
                                            : ((struct sockaddr_in6 *)&peer)->sin6_port);
    return PSF_OK;
}

int32_t psf_tcp_close(psf_tcp_conn *conn)
{
    if (conn == NULL)
        return PSF_OK;
    close(conn->epoll_in);
    close(conn->epoll_out);
    close(conn->fd);
    free(conn);
    return PSF_OK;
}
