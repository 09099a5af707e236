/* Waiting on a ring: a bounded spin, then parking on a futex word in the segment, checking
 * between naps that the peer has neither closed nor died. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "psf_shm_internal.h"

/* 20 ms naps: a dead peer (which never wakes us) is noticed within 100 ms with margin, and an
 * idle reader costs 50 wake-ups a second. */
#define PSF_SHM_NAP_NS 20000000ll
/* A spin longer than this gives the core away (sched_yield) at each clock reading (every 64
 * spins, ~1.5 us) and goes on. When cores are short, the peer we are waiting for (often just
 * woken by us, and placed on our core) is runnable behind us: spinning on only delays it, and
 * once one side parks, both fall into paying a whole spin plus a wake-up per message. 64-byte
 * round trips through the managed transport under load (load average ~10 on 2 vCPUs, four
 * runs each): no yields 51-53 us p50, yields after 5 us 16 us, after 2 us 9 us, after 1 us
 * 6.7 us. Quiet round trips (0.6 us) wait less than a clock reading, so they never yield. */
#define PSF_SHM_YIELD_NS 1000
/* A spin budget of a second or more asks for pure spinning (psf_shm_set_spin): no yields. */
#define PSF_SHM_PURE_SPIN_NS 1000000000ll
/* Read the clock once per this many spins: a vDSO call costs ~20 ns, a pause ~10-40 ns. */
#define PSF_SHM_SPINS_PER_CLOCK 64

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void psf_shm_wake(_Atomic uint32_t *waiting, _Atomic uint32_t *seq)
{
    /* Pairs with the fence in park(): either the waiter sees our publication when it
     * re-checks, or we see its waiting flag here. Without the flag no system call is made. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(waiting, memory_order_relaxed) == 0)
        return;
    atomic_store_explicit(waiting, 0, memory_order_relaxed);
    psf_shm_wake_all(seq);
}

void psf_shm_wake_all(_Atomic uint32_t *seq)
{
    atomic_fetch_add_explicit(seq, 1, memory_order_release);
    /* Not FUTEX_PRIVATE: the word is shared with another process. */
    syscall(SYS_futex, (void *)seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void futex_nap(_Atomic uint32_t *seq, uint32_t expected, int64_t nap_ns)
{
    struct timespec timeout = { .tv_sec = nap_ns / 1000000000ll, .tv_nsec = nap_ns % 1000000000ll };
    syscall(SYS_futex, (void *)seq, FUTEX_WAIT, expected, &timeout, NULL, 0);
}

void psf_shm_peer_forget(psf_shm_conn *conn)
{
    if (conn->peer_pidfd >= 0)
        close(conn->peer_pidfd);
    conn->peer_pidfd = -1;
}

bool psf_shm_peer_gone(psf_shm_conn *conn)
{
    if (conn->peer_pid == 0) {
        conn->peer_pid = atomic_load_explicit(conn->peer_pid_word, memory_order_acquire);
        if (conn->peer_pid == 0)
            return false; /* nobody attached yet */
    }
    if (conn->peer_pid == (int32_t)getpid())
        return false; /* both ends in this process (threads) */
    if (conn->peer_pidfd == -1) {
#if defined(SYS_pidfd_open)
        /* A pidfd also catches a killed child that is not reaped yet, which kill(pid, 0)
         * still reports alive, and it cannot be fooled by the pid being reused. */
        int fd = (int)syscall(SYS_pidfd_open, (pid_t)conn->peer_pid, 0);
        if (fd >= 0)
            conn->peer_pidfd = fd;
        else if (errno == ESRCH)
            return true;
        else
            conn->peer_pidfd = -2;
#else
        conn->peer_pidfd = -2;
#endif
    }
    if (conn->peer_pidfd >= 0) {
        struct pollfd probe = { .fd = conn->peer_pidfd, .events = POLLIN };
        return poll(&probe, 1, 0) > 0;
    }
    return kill((pid_t)conn->peer_pid, 0) != 0 && errno == ESRCH;
}

static bool peer_closed(psf_shm_conn *conn)
{
    return atomic_load_explicit(conn->peer_closed, memory_order_acquire) != 0;
}

static bool readable(psf_shm_conn *conn)
{
    const _Atomic int32_t *word =
        (const _Atomic int32_t *)(const void *)(conn->rx.data + (conn->head & conn->rx.mask));
    if (atomic_load_explicit(word, memory_order_acquire) == 0)
        return false; /* the common empty case: one load, no padding logic */
    return psf_shm_ring_ready(conn);
}

static bool writable(psf_shm_conn *conn, uint32_t length)
{
    uint64_t aligned = psf_shm_align((uint64_t)PSF_SHM_RECORD_HEADER + length);
    uint64_t to_end = conn->ring_bytes - (conn->tail & conn->tx.mask);
    uint64_t need = (aligned > to_end ? to_end : 0) + aligned + PSF_SHM_RECORD_HEADER;
    conn->cached_head = atomic_load_explicit(conn->tx.head, memory_order_acquire);
    return conn->tail - conn->cached_head + need <= conn->ring_bytes;
}

/* The shared shape of both waits. ready() is re-checked after the waiting flag is raised, so
 * a publication between the check and the nap is never missed. */
static int32_t wait_for(psf_shm_conn *conn, bool (*ready)(psf_shm_conn *, uint32_t),
                        uint32_t arg, _Atomic uint32_t *waiting, _Atomic uint32_t *seq,
                        int64_t deadline_ns)
{
    int64_t clock = psf_now_ns();
    int64_t spin_until = conn->spin_ns > deadline_ns - clock ? deadline_ns : clock + conn->spin_ns;
    int64_t yield_at = clock + PSF_SHM_YIELD_NS;
    for (uint32_t spins = 1; conn->spin_ns > 0; spins++) {
        if (ready(conn, arg))
            return PSF_OK;
        if (spins % PSF_SHM_SPINS_PER_CLOCK == 0) {
            if (peer_closed(conn))
                break;
            clock = psf_now_ns();
            if (clock >= spin_until)
                break;
            if (clock >= yield_at && conn->spin_ns < PSF_SHM_PURE_SPIN_NS) {
                sched_yield();
                yield_at = psf_now_ns() + PSF_SHM_YIELD_NS;
            }
        }
        cpu_relax();
    }
    for (;;) {
        uint32_t expected = atomic_load_explicit(seq, memory_order_acquire);
        atomic_store_explicit(waiting, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        if (ready(conn, arg)) {
            atomic_store_explicit(waiting, 0, memory_order_relaxed);
            return PSF_OK;
        }
        /* The closed flag is set after the peer's last record, so one more look drains it. */
        if (peer_closed(conn) || psf_shm_peer_gone(conn)) {
            atomic_store_explicit(waiting, 0, memory_order_relaxed);
            return ready(conn, arg) ? PSF_OK : PSF_E_CLOSED;
        }
        int64_t now = psf_now_ns();
        if (now >= deadline_ns) {
            atomic_store_explicit(waiting, 0, memory_order_relaxed);
            return PSF_E_TIMEOUT;
        }
        int64_t nap = deadline_ns - now < PSF_SHM_NAP_NS ? deadline_ns - now : PSF_SHM_NAP_NS;
        futex_nap(seq, expected, nap);
    }
}

static bool ready_to_read(psf_shm_conn *conn, uint32_t unused)
{
    (void)unused;
    return readable(conn);
}

int32_t psf_shm_wait_readable(psf_shm_conn *conn, int64_t deadline_ns)
{
    if (readable(conn))
        return PSF_OK;
    return wait_for(conn, ready_to_read, 0, conn->rx.reader_waiting, conn->rx.data_seq,
                    deadline_ns);
}

int32_t psf_shm_wait_writable(psf_shm_conn *conn, uint32_t length, int64_t deadline_ns)
{
    if (peer_closed(conn))
        return PSF_E_CLOSED;
    if (writable(conn, length))
        return PSF_OK;
    int32_t status = wait_for(conn, writable, length, conn->tx.writer_waiting,
                              conn->tx.space_seq, deadline_ns);
    /* Room does not help when nobody will read it. */
    if (status == PSF_OK && peer_closed(conn))
        return PSF_E_CLOSED;
    return status;
}
