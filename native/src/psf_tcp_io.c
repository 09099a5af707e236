/* Moving bytes on a native TCP connection: scatter-gather sendmsg of many frames per system
 * call, and recvmsg that takes whatever has arrived up to the caller's capacity. */
#include <errno.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "psf_tcp_internal.h"

/* 64 iovecs per sendmsg: well under IOV_MAX (1024) and enough for a batch of frames with
 * header, keys and values each, while keeping the stack copy at 1 KiB. */
#define PSF_TCP_IOV_BATCH 64

int32_t psf_tcp_sendv(psf_tcp_conn *conn, const psf_iovec *iov, int32_t count, int64_t timeout_ns)
{
    if (conn == NULL || (iov == NULL && count != 0) || count < 0)
        return psf_fail(PSF_E_INVALID, "psf_tcp_sendv: null connection or bad vector");
    if (conn->broken)
        return psf_fail(PSF_E_CLOSED, "psf_tcp_sendv: an earlier send was cut short");
    int64_t deadline = psf_deadline(timeout_ns);
    int32_t next = 0;          /* first iovec not fully sent */
    uint64_t skip = 0;         /* bytes of iov[next] already sent */
    while (next < count) {
        struct iovec batch[PSF_TCP_IOV_BATCH];
        int used = 0;
        for (int32_t i = next; i < count && used < PSF_TCP_IOV_BATCH; i++) {
            uint64_t offset = i == next ? skip : 0;
            if (iov[i].length == offset)
                continue;
            if (iov[i].base == NULL)
                return psf_fail(PSF_E_INVALID, "psf_tcp_sendv: iovec %d is null", i);
            batch[used].iov_base = (uint8_t *)(uintptr_t)iov[i].base + offset;
            batch[used].iov_len = (size_t)(iov[i].length - offset);
            used++;
        }
        if (used == 0)
            break;
        struct msghdr message = { .msg_iov = batch, .msg_iovlen = (size_t)used };
        ssize_t sent = sendmsg(conn->fd, &message, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int32_t status = psf_tcp_wait(conn->epoll_fd, conn->fd, &conn->interest, EPOLLOUT,
                                              deadline);
                if (status == PSF_OK)
                    continue;
                conn->broken = next != 0 || skip != 0;
                return status;
            }
            conn->broken = true;
            if (errno == EPIPE || errno == ECONNRESET)
                return psf_fail(PSF_E_CLOSED, "psf_tcp_sendv: the peer closed the connection");
            return psf_fail_errno("psf_tcp_sendv");
        }
        uint64_t left = (uint64_t)sent;
        while (left > 0 && next < count) {
            uint64_t rest = iov[next].length - skip;
            if (left < rest) {
                skip += left;
                left = 0;
            } else {
                left -= rest;
                next++;
                skip = 0;
            }
        }
        while (next < count && iov[next].length == skip) {
            next++;
            skip = 0;
        }
    }
    return PSF_OK;
}

int32_t psf_tcp_recv(psf_tcp_conn *conn, void *buf, uint64_t cap, uint64_t min_bytes,
                     uint64_t *received, int64_t timeout_ns)
{
    if (conn == NULL || received == NULL || (buf == NULL && cap != 0) || min_bytes > cap)
        return psf_fail(PSF_E_INVALID, "psf_tcp_recv: null argument or min_bytes > cap");
    *received = 0;
    int64_t deadline = psf_deadline(timeout_ns);
    uint64_t got = 0;
    uint64_t want = min_bytes == 0 ? 1 : min_bytes;
    while (got < want && got < cap) {
        struct iovec into = { .iov_base = (uint8_t *)buf + got, .iov_len = (size_t)(cap - got) };
        struct msghdr message = { .msg_iov = &into, .msg_iovlen = 1 };
        ssize_t count = recvmsg(conn->fd, &message, 0);
        if (count > 0) {
            got += (uint64_t)count;
            continue;
        }
        if (count == 0) {
            *received = got;
            return got >= want ? PSF_OK : PSF_E_CLOSED;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *received = got;
            if (errno == ECONNRESET)
                return psf_fail(PSF_E_CLOSED, "psf_tcp_recv: the peer reset the connection");
            return psf_fail_errno("psf_tcp_recv");
        }
        int32_t status = psf_tcp_wait(conn->epoll_fd, conn->fd, &conn->interest, EPOLLIN, deadline);
        if (status < 0) {
            *received = got;
            return status;
        }
    }
    *received = got;
    return PSF_OK;
}
