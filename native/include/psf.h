/*
 * psf.h: the whole ABI of libpsf_native, the C shim of ParameterServer.Fast.
 *
 * Conventions (the managed bindings in ParameterServer.Fast.Core/Interop rely on them):
 *   - every function is psf_<noun>_<verb>; it returns 0 (or a non-negative count) on success
 *     and a negative PSF_E_* status on failure;
 *   - outputs go through pointers; only blittable types cross the boundary;
 *   - on a failure the function may record a message for psf_last_error() (thread-local),
 *     only on cold paths; nothing unwinds across the boundary.
 */
#ifndef PSF_H
#define PSF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(PSF_BUILDING_LIBRARY)
#    define PSF_API __declspec(dllexport)
#  else
#    define PSF_API __declspec(dllimport)
#  endif
#else
#  define PSF_API __attribute__((visibility("default")))
#endif

/* Status codes. Expected data-path conditions are statuses, never aborts. */
#define PSF_OK              0
#define PSF_E_INVALID     (-1)  /* an argument was out of range or null */
#define PSF_E_NOMEM       (-2)  /* an allocation failed */
#define PSF_E_SYSTEM      (-3)  /* a system call failed; psf_last_error() names it and errno */
#define PSF_E_UNSUPPORTED (-4)  /* compiled without this feature, or the OS lacks it */
#define PSF_E_NODEVICE    (-5)  /* no device of the kind asked for exists */
#define PSF_E_AGAIN       (-6)  /* back-pressure: try again later */
#define PSF_E_CLOSED      (-7)  /* the peer closed or died */
#define PSF_E_TIMEOUT     (-8)  /* a bounded wait ran out */
#define PSF_E_PROTOCOL    (-9)  /* the peer sent bytes that break the protocol */

/* Library version as (major << 16) | (minor << 8) | patch. */
PSF_API uint32_t psf_version(void);

/* The message of the last failure on this thread; never null, "" when there was none.
 * The pointer stays valid until the next failing call on the same thread. */
PSF_API const char *psf_last_error(void);

/* Clears this thread's last error (tests use it to check that a call sets one). */
PSF_API void psf_last_error_clear(void);

/* ---- reference kernels: the yardsticks of `psf bench kernels`, built with -O3 -march=native ---- */

/* dst[i] += src[i] for i < count. */
PSF_API int32_t psf_ref_sum_into(float *dst, const float *src, uint64_t count);

/* memcpy of count bytes. */
PSF_API int32_t psf_ref_copy(void *dst, const void *src, uint64_t count);

/* ---- RDMA verbs ---- */

/* Number of RDMA devices (>= 0), or PSF_E_UNSUPPORTED when built without verbs, or
 * PSF_E_NODEVICE / PSF_E_SYSTEM with psf_last_error() saying why none can be listed. */
PSF_API int32_t psf_rdma_device_count(void);

/* A reliable-connected queue pair with its receive buffers, on the first RDMA device.
 *
 * Setup: each side creates a connection, sends psf_rdma_local_info's blob to the other over
 * an existing channel (TCP), and passes the peer's blob to psf_rdma_connect.
 * Small and control messages go two-sided (psf_rdma_send, copied into a registered send slot,
 * received into one of recv_slots buffers of slot_bytes). Large value sections go by RDMA
 * write with immediate (psf_rdma_write) straight into the peer's receive region, with no copy
 * on either side; the immediate tells the receiver where they landed.
 * Flow control: every message and write consumes one posted receive buffer of the peer, so the
 * sender holds credits = buffers the peer has posted and never sends without one
 * (PSF_E_AGAIN); released buffers go back as credits on outgoing messages, or in a credit
 * message once half of them are waiting. One credit is kept for that message, so at most
 * recv_slots - 1 messages are ever in flight. Region space is returned the same way.
 * Errors: a failed completion (the peer vanished, a protection error) closes the connection;
 * every later call returns PSF_E_CLOSED and psf_last_error() names the failed work request.
 * Threads: a connection is used by one thread at a time (the transport's I/O thread).
 * Without verbs compiled in, every function below returns PSF_E_UNSUPPORTED. */
typedef struct psf_rdma_conn psf_rdma_conn;

#define PSF_RDMA_EVENT_MESSAGE 1 /* a two-sided message: data/length/type in a receive buffer */
#define PSF_RDMA_EVENT_WRITE   2 /* an RDMA write landed in our region: data/length */
#define PSF_RDMA_EVENT_WRITTEN 3 /* our psf_rdma_write with this token finished: reuse its buffer */

/* An event from psf_rdma_poll. For MESSAGE and WRITE, data stays valid until
 * psf_rdma_release(conn, token); WRITE events must be released in the order delivered. */
typedef struct psf_rdma_event {
    int32_t kind;
    int32_t type;           /* MESSAGE: the sender's type; otherwise 0 */
    uint64_t length;
    const void *data;
    uint64_t token;
} psf_rdma_event;

typedef struct psf_rdma_stats {
    uint32_t credits;       /* receive buffers of the peer we may still fill */
    uint32_t recv_slots;
    uint64_t mr_hits;       /* psf_rdma_write buffers found registered */
    uint64_t mr_misses;     /* ... registered on the spot */
    uint64_t mr_evictions;  /* least recently used registrations dropped for the budget */
    uint64_t mr_bytes;      /* bytes registered by the cache now */
} psf_rdma_stats;

/* The size of psf_rdma_local_info's blob. */
#define PSF_RDMA_INFO_BYTES 64

/* Opens the first device and makes a queue pair with recv_slots (4..4096) receive buffers of
 * slot_bytes (64..1 MiB) each, a receive region of region_bytes (0 or 4 KiB..16 GiB, a
 * multiple of 64) for peers' writes, and a registration cache of mr_cache_bytes for buffers
 * given to psf_rdma_write. PSF_E_NODEVICE when there is no RDMA device (psf_last_error()
 * says why), PSF_E_INVALID, PSF_E_NOMEM, PSF_E_SYSTEM. */
PSF_API int32_t psf_rdma_conn_create(uint32_t recv_slots, uint32_t slot_bytes,
                                     uint64_t region_bytes, uint64_t mr_cache_bytes,
                                     psf_rdma_conn **out);

/* Writes this end's setup blob (PSF_RDMA_INFO_BYTES: queue pair number, LID, GID, PSN,
 * receive buffer count and size, region address and rkey) to buf; *length gets its size.
 * PSF_E_INVALID when cap is too small. */
PSF_API int32_t psf_rdma_local_info(psf_rdma_conn *conn, void *buf, uint32_t cap,
                                    uint32_t *length);

/* Connects to the peer described by its blob (INIT -> RTR -> RTS). PSF_E_PROTOCOL for a blob
 * that is not one, PSF_E_INVALID when already connected, PSF_E_SYSTEM when the device refuses. */
PSF_API int32_t psf_rdma_connect(psf_rdma_conn *conn, const void *remote_info, uint32_t length);

/* Sends `length` bytes (at most the peer's slot_bytes - 16) as a message of `type`; the data
 * is copied, so buf is free on return. PSF_E_AGAIN without credit or send slot (poll, then
 * retry), PSF_E_INVALID, PSF_E_CLOSED. */
PSF_API int32_t psf_rdma_send(psf_rdma_conn *conn, int32_t type, const void *data,
                              uint32_t length);

/* Writes `length` bytes (1 .. half the peer's region) into the peer's region, which the peer
 * sees as a WRITE event. data is registered through the cache and read by the device later:
 * keep it unchanged until a WRITTEN event with *token. PSF_E_AGAIN without credit or region
 * space, PSF_E_INVALID, PSF_E_CLOSED. */
PSF_API int32_t psf_rdma_write(psf_rdma_conn *conn, const void *data, uint64_t length,
                               uint64_t *token);

/* Registers [addr, addr + length), memory the caller owns (a table's slab), with this
 * connection's protection domain under the caller's `id`, for psf_rdma_write_region; *lkey gets
 * its local key. Registering an id again (the region grew) registers the new extent first and
 * then drops the old one, so a refusal leaves the old registration in place. The caller must
 * deregister a region before it frees or unmaps the memory: the device reads registered pages,
 * and freed ones could be remapped. PSF_E_INVALID, PSF_E_NOMEM, PSF_E_CLOSED, PSF_E_SYSTEM (the
 * device refused, e.g. the memlock limit). */
PSF_API int32_t psf_rdma_region_register(psf_rdma_conn *conn, uint64_t id, void *addr,
                                         uint64_t length, uint32_t *lkey);

/* Drops the registration of region `id` (also on a failed connection). PSF_E_INVALID for an
 * unknown id. */
PSF_API int32_t psf_rdma_region_deregister(psf_rdma_conn *conn, uint64_t id);

/* psf_rdma_write from inside region `id`, with its registration and no copy: PSF_E_INVALID
 * when [data, data + length) does not lie inside it. The device reads the memory after the
 * call: keep it unchanged until the WRITTEN event with *token. */
PSF_API int32_t psf_rdma_write_region(psf_rdma_conn *conn, uint64_t id, const void *data,
                                      uint64_t length, uint64_t *token);

/* Reaps completions and returns 1 with the next event in *event, 0 when there is none, or
 * PSF_E_CLOSED after a failed completion. Never blocks. */
PSF_API int32_t psf_rdma_poll(psf_rdma_conn *conn, psf_rdma_event *event);

/* Gives a MESSAGE or WRITE event's buffer back (reposting it, which earns the peer a credit).
 * PSF_E_INVALID for an unknown token or a WRITE released out of order. */
PSF_API int32_t psf_rdma_release(psf_rdma_conn *conn, uint64_t token);

/* Counters of the connection. */
PSF_API int32_t psf_rdma_conn_stats(psf_rdma_conn *conn, psf_rdma_stats *stats);

/* Destroys the queue pair and frees every buffer and registration (null accepted). */
PSF_API int32_t psf_rdma_close(psf_rdma_conn *conn);

/* ---- RDMA test hooks ----
 *
 * For tests only (the managed transport's, on machines without an RDMA device): the same
 * connection logic as above over in-memory fake verbs, in which connections of one process
 * deliver to each other by memcpy, checking states, posted receives, rkeys and bounds like a
 * reliable-connected device. Use the psf_rdma_* functions above on what psf_rdma_fake_create
 * returns. PSF_E_UNSUPPORTED when built without verbs. */

/* psf_rdma_conn_create over the fake verbs. */
PSF_API int32_t psf_rdma_fake_create(uint32_t recv_slots, uint32_t slot_bytes,
                                     uint64_t region_bytes, uint64_t mr_cache_bytes,
                                     psf_rdma_conn **out);

/* The next send or write posted on any fake connection completes with this (positive) error
 * status instead of executing, as a real device reports a peer that vanished. */
PSF_API int32_t psf_rdma_fake_fail_next(int32_t status);

/* Memory registrations made and dropped by the fake so far (equal when nothing leaked). */
PSF_API int32_t psf_rdma_fake_counts(uint64_t *registrations, uint64_t *deregistrations);

/* The local side of an RDMA write posted on any fake connection, `back` writes before the last
 * (0: the last; the fake keeps 16): where the device read from, how many bytes, under which
 * local key (0s when there is none). */
PSF_API int32_t psf_rdma_fake_posted_write(uint32_t back, uint64_t *addr, uint64_t *length,
                                           uint32_t *lkey);

/* Non-zero: from now on the fake executes posted sends and writes only when the sender's
 * completion queue is polled, as a device reads memory some time after the post; zero: at the
 * post again. */
PSF_API int32_t psf_rdma_fake_set_deferred(int32_t deferred);

/* ---- shared-memory connection ----
 *
 * One segment per connection: a header and two single-producer single-consumer byte rings, one
 * per direction. The creator writes ring 0 and reads ring 1; the attacher the other way round.
 * Records are [int32 length | int32 type | payload padded to 8 bytes]; a record becomes
 * visible to the reader only when its length is published, so a reader never sees half a write.
 *
 * Threads: a connection has one writing thread and one reading thread at a time (they may be
 * different threads); the writer functions (try_claim, commit, send) must not run concurrently
 * with each other, nor the reader functions (try_read, release, wait, recv) with each other.
 * psf_shm_close must not run concurrently with anything else on the same connection.
 *
 * Waiting: blocking calls spin for a short while (20 us by default, see psf_shm_set_spin),
 * giving the core away (sched_yield) every ~1.5 us of it, then park on a futex in the segment;
 * the other side only makes the wake system call when the waiter has announced itself, so a
 * busy connection makes no system calls at all.
 * A wait that parks checks the peer's closed flag and whether its process is still alive, so a
 * peer that exits or is killed is reported as PSF_E_CLOSED within about 100 ms.
 *
 * Timeouts (timeout_ns) on every blocking call: 0 tries once without waiting, a positive value
 * bounds the wait, a negative value waits until ready, closed or the peer dies. */
typedef struct psf_shm_conn psf_shm_conn;

/* Ring sizes: powers of two in [PSF_SHM_RING_MIN, PSF_SHM_RING_MAX]; the segment is 4 KiB
 * plus twice the ring size. */
#define PSF_SHM_RING_MIN ((uint64_t)64 * 1024)
#define PSF_SHM_RING_MAX ((uint64_t)1024 * 1024 * 1024)

/* The type word of a record: the low 24 bits are the caller's message type; psf_shm_send sets
 * the chunk flags when it streams a message larger than one record. A chunked message is a
 * FIRST record whose payload starts with the uint64_t total length of the message, followed by
 * the first bytes, then NEXT records with the following bytes, the final one also LAST.
 * psf_shm_recv reassembles them; psf_shm_try_read hands them out one by one. */
#define PSF_SHM_TYPE_MASK   0x00FFFFFF
#define PSF_SHM_CHUNK_FIRST 0x01000000
#define PSF_SHM_CHUNK_NEXT  0x02000000
#define PSF_SHM_CHUNK_LAST  0x04000000

/* Creates the segment under `name` (a POSIX shared-memory name such as "psf-4711-0"; a leading
 * '/' is added when missing; at most 200 characters, no other '/') with two rings of ring_bytes
 * each, and returns the creator's end in *out. Fails with PSF_E_INVALID for a bad size or name
 * and PSF_E_SYSTEM when the name exists already. The name is unlinked as soon as the peer has
 * attached (by the attacher) or when the creator closes, whichever comes first: a connection
 * can be attached once, and no file is left behind after both ends closed or died.
 * Called by the side that offers the connection (the server). */
PSF_API int32_t psf_shm_create(const char *name, uint64_t ring_bytes, psf_shm_conn **out);

/* Attaches to a segment made by psf_shm_create, possibly in another process. Refuses a missing
 * name (PSF_E_SYSTEM), a segment whose magic, version or sizes are wrong (PSF_E_PROTOCOL), one
 * that already has an attacher (PSF_E_INVALID) and one whose creator closed (PSF_E_CLOSED);
 * psf_last_error() says which. Called by the connecting side (the client). */
PSF_API int32_t psf_shm_attach(const char *name, psf_shm_conn **out);

/* Marks this end closed, wakes the peer (which drains what is left, then sees PSF_E_CLOSED),
 * unmaps the segment and frees conn. The memory goes away when the last end closed or died.
 * Null is accepted. Pointers from try_claim/try_read are invalid afterwards. */
PSF_API int32_t psf_shm_close(psf_shm_conn *conn);

/* Sets how long blocking calls spin before they park (default 20000 ns). A second or more
 * (1e9) makes waits pure spinning, without yields: lowest latency, one core busy. Any thread. */
PSF_API int32_t psf_shm_set_spin(psf_shm_conn *conn, int64_t spin_ns);

/* The largest length psf_shm_try_claim accepts (half the ring minus 16 bytes). */
PSF_API int32_t psf_shm_max_claim(psf_shm_conn *conn, uint32_t *bytes);

/* Writer, zero-copy: reserves a record of `length` bytes (0..max_claim) in the outgoing ring
 * and returns in *ptr where to write them (8-byte aligned, valid until psf_shm_commit).
 * Never blocks: PSF_E_AGAIN when the ring lacks room (back-pressure), PSF_E_CLOSED when the
 * peer closed, PSF_E_INVALID when length > max_claim or a claim is already open. */
PSF_API int32_t psf_shm_try_claim(psf_shm_conn *conn, uint32_t length, void **ptr);

/* Publishes the claimed record with the given type (0..PSF_SHM_TYPE_MASK) to the reader.
 * PSF_E_INVALID when no claim is open. */
PSF_API int32_t psf_shm_commit(psf_shm_conn *conn, int32_t type);

/* Writer: waits until a psf_shm_try_claim of `length` bytes (0..max_claim) would succeed,
 * spinning then parking like psf_shm_wait. Lets a writer that gathers a record from several
 * buffers wait for room without polling. 0, PSF_E_TIMEOUT, PSF_E_CLOSED (the peer closed or
 * died) or PSF_E_INVALID. */
PSF_API int32_t psf_shm_wait_claim(psf_shm_conn *conn, uint32_t length, int64_t timeout_ns);

/* Writer, copying: sends `length` bytes of any size as one message of the given type (0..
 * PSF_SHM_TYPE_MASK). Messages longer than one record are streamed in chunks, so the reader
 * may consume while the writer produces. Waits for room up to timeout_ns. Returns 0, or
 * PSF_E_TIMEOUT (repeat the call with the same type, data and length to continue a message
 * that was partly sent; a different message is refused with PSF_E_INVALID until then),
 * PSF_E_CLOSED or PSF_E_INVALID. */
PSF_API int32_t psf_shm_send(psf_shm_conn *conn, int32_t type, const void *data, uint64_t length,
                             int64_t timeout_ns);

/* Reader, zero-copy: returns the next record's payload IN the ring (*ptr, 8-byte aligned,
 * *length bytes, *type with chunk flags). The record stays valid and in place until
 * psf_shm_release; calling try_read again before that returns the same record. Never blocks:
 * PSF_E_AGAIN when nothing is there, PSF_E_CLOSED when the ring is empty and the peer closed. */
PSF_API int32_t psf_shm_try_read(psf_shm_conn *conn, const void **ptr, uint32_t *length,
                                 int32_t *type);

/* Frees the record returned by psf_shm_try_read for the writer. PSF_E_INVALID if none. */
PSF_API int32_t psf_shm_release(psf_shm_conn *conn);

/* Reader: waits until a record can be read. 0, PSF_E_TIMEOUT or PSF_E_CLOSED (the ring is
 * empty and the peer closed or died). */
PSF_API int32_t psf_shm_wait(psf_shm_conn *conn, int64_t timeout_ns);

/* Reader, copying: receives the next message, reassembling chunks, into buf (cap bytes).
 * On 0, *length and *type (without chunk flags) describe it. When cap is too small it returns
 * PSF_E_INVALID with the full size in *length and leaves the message in the ring. On
 * PSF_E_TIMEOUT in the middle of a chunked message, the part received so far is in buf: call
 * again with the same buffer to continue. PSF_E_CLOSED, PSF_E_PROTOCOL for broken chunks. */
PSF_API int32_t psf_shm_recv(psf_shm_conn *conn, void *buf, uint64_t cap, uint64_t *length,
                             int32_t *type, int64_t timeout_ns);

/* ---- native TCP connection ----
 *
 * The TCP engine of the managed transport (TcpEngine.Native) and the C baselines: sockets with
 * TCP_NODELAY, and sendmsg with many iovecs so a frame (prefix, header, keys, values) or a
 * batch of them costs one system call. An unbounded wait is one blocking system call (the
 * socket stays in blocking mode); bounded waits use MSG_DONTWAIT and an epoll set per
 * direction. Addresses are IPv4 or IPv6 literals ("127.0.0.1", "::1"); no name resolution.
 * Timeouts as for shm (0 = try once, negative = unbounded). A connection may have one sending
 * and one receiving thread at a time; psf_tcp_shutdown may run concurrently with both, and
 * close must not run concurrently with anything else on it. */
typedef struct psf_tcp_listener psf_tcp_listener;
typedef struct psf_tcp_conn psf_tcp_conn;

/* One buffer of a gather list; 16 bytes, the same on every 64-bit platform. */
typedef struct psf_iovec {
    const void *base;
    uint64_t length;
} psf_iovec;

/* Listens on address:port (port 0 picks a free port, returned in *bound_port, which may be
 * null). PSF_E_INVALID for a bad address, PSF_E_SYSTEM when bind or listen fail. Server side. */
PSF_API int32_t psf_tcp_listen(const char *address, uint16_t port, psf_tcp_listener **out,
                               uint16_t *bound_port);

/* Waits up to timeout_ns for a connection: 0, PSF_E_TIMEOUT or PSF_E_SYSTEM. Server side. */
PSF_API int32_t psf_tcp_accept(psf_tcp_listener *listener, int64_t timeout_ns,
                               psf_tcp_conn **out);

/* Stops listening and frees the listener (null accepted); accepted connections stay open. */
PSF_API int32_t psf_tcp_listener_close(psf_tcp_listener *listener);

/* Connects to address:port within timeout_ns: 0, PSF_E_TIMEOUT, PSF_E_CLOSED when refused,
 * PSF_E_INVALID for a bad address, PSF_E_SYSTEM otherwise. Client side. */
PSF_API int32_t psf_tcp_connect(const char *address, uint16_t port, int64_t timeout_ns,
                                psf_tcp_conn **out);

/* Sends all bytes of iov[0..count) in order, up to 64 buffers per system call, waiting for
 * socket room up to timeout_ns. The buffers are only read during the call. 0, PSF_E_TIMEOUT,
 * PSF_E_CLOSED (peer gone) or PSF_E_SYSTEM; after a failure that left a buffer half sent the
 * connection refuses further sends with PSF_E_CLOSED, since frame boundaries are lost. */
PSF_API int32_t psf_tcp_sendv(psf_tcp_conn *conn, const psf_iovec *iov, int32_t count,
                              int64_t timeout_ns);

/* Sends the whole vector like psf_tcp_sendv if it fits the socket's free send space now
 * (unacknowledged bytes plus the vector within the send buffer's payload budget), without
 * waiting; PSF_E_AGAIN, with nothing sent, when it does not (back-pressure). A vector larger
 * than the whole send buffer is started only when the socket holds nothing, and its rest is
 * then sent waiting without bound (a stream cannot take back half a frame; psf_tcp_shutdown
 * ends that wait). 0, PSF_E_AGAIN, PSF_E_CLOSED or PSF_E_SYSTEM. */
PSF_API int32_t psf_tcp_try_sendv(psf_tcp_conn *conn, const psf_iovec *iov, int32_t count);

/* Receives at least min_bytes (at least 1 when min_bytes is 0) and at most cap bytes into buf,
 * taking in one call whatever has arrived: several frames per system call. Waiting without
 * bound for more than one byte, it asks the kernel for exactly min_bytes (MSG_WAITALL: the
 * rest of a large frame in one call). *received says how many bytes are in buf, also on
 * failure. 0, PSF_E_TIMEOUT, PSF_E_CLOSED (the peer closed before min_bytes arrived) or
 * PSF_E_SYSTEM. */
PSF_API int32_t psf_tcp_recv(psf_tcp_conn *conn, void *buf, uint64_t cap, uint64_t min_bytes,
                             uint64_t *received, int64_t timeout_ns);

/* Shuts the connection down both ways (the peer reads end of stream) from any thread, even
 * while others are blocked in psf_tcp_sendv or psf_tcp_recv on it: they return PSF_E_CLOSED
 * at once. Later sends fail with PSF_E_CLOSED; the connection still needs psf_tcp_close. */
PSF_API int32_t psf_tcp_shutdown(psf_tcp_conn *conn);

/* The peer's address as text (cap >= 46 bytes, INET6_ADDRSTRLEN) and its port, for messages
 * and logs. PSF_E_INVALID, PSF_E_SYSTEM. */
PSF_API int32_t psf_tcp_peer(psf_tcp_conn *conn, char *address, uint32_t cap, uint16_t *port);

/* Closes the socket and frees conn (null accepted). */
PSF_API int32_t psf_tcp_close(psf_tcp_conn *conn);

/* ---- same-run baselines for `psf bench transport` ----
 *
 * Each runs on this machine now, between two threads of this process, and returns within
 * about 10 s whatever the arguments (a run that cannot finish in time returns PSF_E_TIMEOUT).
 * Rates are in GB/s (1e9 bytes per second); latencies are round-trip times in microseconds.
 * Any thread; they use their own connections. */

/* memcpy of `bytes` (1 .. 1 GiB) between two buffers, `iterations` times (>= 1). */
PSF_API int32_t psf_bench_memcpy(uint64_t bytes, uint32_t iterations, double *gbps);

/* A stream of total_bytes over a loopback TCP connection in writes of message_bytes
 * (1 .. 64 MiB; 1 MiB is the reference), TCP_NODELAY. */
PSF_API int32_t psf_bench_tcp_stream(uint64_t message_bytes, uint64_t total_bytes, double *gbps);

/* The same stream, its sender submitting through io_uring with up to `depth` (1 .. 64) sends in
 * flight, one system call per batch: PSF_E_UNSUPPORTED where the kernel has no io_uring. */
PSF_API int32_t psf_bench_tcp_stream_uring(uint64_t message_bytes, uint64_t total_bytes, uint32_t depth, double *gbps);

/* `iterations` (1 .. 1e7) 64-byte round trips over loopback TCP; p50 and p99. */
PSF_API int32_t psf_bench_tcp_pingpong(uint32_t iterations, double *p50_us, double *p99_us);

/* A stream of total_bytes in messages of message_bytes through a shm connection with 4 MiB
 * rings (psf_shm_send to psf_shm_recv), for comparison with memcpy. */
PSF_API int32_t psf_bench_shm_stream(uint64_t message_bytes, uint64_t total_bytes, double *gbps);

/* `iterations` 64-byte round trips through a shm connection; spin_only != 0 makes both ends
 * spin instead of parking on the futex after 20 us. */
PSF_API int32_t psf_bench_shm_pingpong(uint32_t iterations, int32_t spin_only, double *p50_us,
                                       double *p99_us);

#ifdef __cplusplus
}
#endif

#endif /* PSF_H */
