/* Creating, attaching and closing a shared-memory connection. The segment is a POSIX
 * shared-memory object so an unrelated process can attach knowing only its name. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psf_shm_internal.h"

/* 20 us: longer than a cross-core round trip (~0.2-1 us), far shorter than a futex
 * sleep/wake pair (~5-10 us) would be worth avoiding for. */
#define PSF_SHM_DEFAULT_SPIN_NS 20000

#define FIELD(base, type, offset) ((type *)(void *)((base) + (offset)))

static int32_t normalise_name(const char *name, char out[256])
{
    if (name == NULL || name[0] == '\0')
        return psf_fail(PSF_E_INVALID, "shm: empty segment name");
    const char *bare = name[0] == '/' ? name + 1 : name;
    size_t length = strlen(bare);
    if (length == 0 || length > 200 || strchr(bare, '/') != NULL)
        return psf_fail(PSF_E_INVALID,
                        "shm: segment name '%.64s' must be 1..200 characters without '/'", name);
    out[0] = '/';
    memcpy(out + 1, bare, length + 1);
    return PSF_OK;
}

static bool valid_ring_bytes(uint64_t ring_bytes)
{
    return ring_bytes >= PSF_SHM_RING_MIN && ring_bytes <= PSF_SHM_RING_MAX &&
           (ring_bytes & (ring_bytes - 1)) == 0;
}

static void bind_ring(psf_shm_ring *ring, uint8_t *base, uint32_t index, uint64_t ring_bytes)
{
    uint8_t *control = base + PSF_SHM_OFF_RING_CONTROL(index);
    ring->data = base + PSF_SHM_OFF_RING_DATA(index, ring_bytes);
    ring->mask = ring_bytes - 1;
    ring->head = FIELD(control, _Atomic uint64_t, PSF_SHM_CTL_HEAD);
    ring->reader_waiting = FIELD(control, _Atomic uint32_t, PSF_SHM_CTL_READER_WAITING);
    ring->data_seq = FIELD(control, _Atomic uint32_t, PSF_SHM_CTL_DATA_SEQ);
    ring->writer_waiting = FIELD(control, _Atomic uint32_t, PSF_SHM_CTL_WRITER_WAITING);
    ring->space_seq = FIELD(control, _Atomic uint32_t, PSF_SHM_CTL_SPACE_SEQ);
}

/* Wires up the process-local view; ring 0 carries creator -> attacher. */
static psf_shm_conn *new_conn(uint8_t *base, uint64_t map_bytes, uint64_t ring_bytes,
                              bool is_creator, const char *name)
{
    psf_shm_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL)
        return NULL;
    conn->base = base;
    conn->map_bytes = map_bytes;
    conn->ring_bytes = ring_bytes;
    bind_ring(&conn->tx, base, is_creator ? 0 : 1, ring_bytes);
    bind_ring(&conn->rx, base, is_creator ? 1 : 0, ring_bytes);
    _Atomic uint32_t *creator_closed = FIELD(base, _Atomic uint32_t, PSF_SHM_OFF_CREATOR_CLOSED);
    _Atomic uint32_t *attacher_closed = FIELD(base, _Atomic uint32_t, PSF_SHM_OFF_ATTACHER_CLOSED);
    conn->own_closed = is_creator ? creator_closed : attacher_closed;
    conn->peer_closed = is_creator ? attacher_closed : creator_closed;
    conn->peer_pid_word = FIELD(base, _Atomic int32_t,
                                is_creator ? PSF_SHM_OFF_ATTACHER_PID : PSF_SHM_OFF_CREATOR_PID);
    conn->is_creator = is_creator;
    conn->peer_pidfd = -1;
    conn->spin_ns = PSF_SHM_DEFAULT_SPIN_NS;
    strcpy(conn->name, name);
    return conn;
}

int32_t psf_shm_create(const char *name, uint64_t ring_bytes, psf_shm_conn **out)
{
    char path[256];
    if (out == NULL)
        return psf_fail(PSF_E_INVALID, "psf_shm_create: null output");
    *out = NULL;
    int32_t status = normalise_name(name, path);
    if (status < 0)
        return status;
    if (!valid_ring_bytes(ring_bytes))
        return psf_fail(PSF_E_INVALID,
                        "psf_shm_create: ring size %llu is not a power of two in [64 KiB, 1 GiB]",
                        (unsigned long long)ring_bytes);
    uint64_t map_bytes = PSF_SHM_HEADER_BYTES + 2 * ring_bytes;
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return psf_fail_errno("psf_shm_create: shm_open(%s)", path);
    if (ftruncate(fd, (off_t)map_bytes) != 0) {
        status = psf_fail_errno("psf_shm_create: ftruncate(%s, %llu)", path,
                                (unsigned long long)map_bytes);
        close(fd);
        shm_unlink(path);
        return status;
    }
    /* MAP_POPULATE: fault the rings in now, not on the first lap of the data path. */
    void *base = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED) {
        status = psf_fail_errno("psf_shm_create: mmap(%s, %llu)", path,
                                (unsigned long long)map_bytes);
        shm_unlink(path);
        return status;
    }
    uint8_t *bytes = base;
    *FIELD(bytes, uint32_t, PSF_SHM_OFF_VERSION) = PSF_SHM_VERSION;
    *FIELD(bytes, uint32_t, PSF_SHM_OFF_HEADER_BYTES) = PSF_SHM_HEADER_BYTES;
    *FIELD(bytes, uint64_t, PSF_SHM_OFF_RING_BYTES) = ring_bytes;
    *FIELD(bytes, int32_t, PSF_SHM_OFF_CREATOR_PID) = (int32_t)getpid();
    /* Magic last: an attacher that sees it sees every field above. */
    atomic_store_explicit(FIELD(bytes, _Atomic uint64_t, PSF_SHM_OFF_MAGIC), PSF_SHM_MAGIC,
                          memory_order_release);
    psf_shm_conn *conn = new_conn(bytes, map_bytes, ring_bytes, true, path);
    if (conn == NULL) {
        munmap(base, map_bytes);
        shm_unlink(path);
        return psf_fail(PSF_E_NOMEM, "psf_shm_create: out of memory");
    }
    *out = conn;
    return PSF_OK;
}

static int32_t check_identity(const uint8_t *bytes, uint64_t file_bytes, const char *path,
                              uint64_t *ring_bytes)
{
    uint64_t magic = atomic_load_explicit(FIELD(bytes, const _Atomic uint64_t, PSF_SHM_OFF_MAGIC),
                                          memory_order_acquire);
    if (magic != PSF_SHM_MAGIC)
        return psf_fail(PSF_E_PROTOCOL, "psf_shm_attach: %s is not a psf segment (bad magic %016llx)",
                        path, (unsigned long long)magic);
    uint32_t version = *FIELD(bytes, const uint32_t, PSF_SHM_OFF_VERSION);
    if (version != PSF_SHM_VERSION)
        return psf_fail(PSF_E_PROTOCOL, "psf_shm_attach: %s has layout version %u, expected %u",
                        path, version, PSF_SHM_VERSION);
    uint32_t header = *FIELD(bytes, const uint32_t, PSF_SHM_OFF_HEADER_BYTES);
    *ring_bytes = *FIELD(bytes, const uint64_t, PSF_SHM_OFF_RING_BYTES);
    if (header != PSF_SHM_HEADER_BYTES || !valid_ring_bytes(*ring_bytes) ||
        file_bytes != PSF_SHM_HEADER_BYTES + 2 * *ring_bytes)
        return psf_fail(PSF_E_PROTOCOL,
                        "psf_shm_attach: %s has inconsistent sizes (header %u, ring %llu, file %llu)",
                        path, header, (unsigned long long)*ring_bytes,
                        (unsigned long long)file_bytes);
    return PSF_OK;
}

int32_t psf_shm_attach(const char *name, psf_shm_conn **out)
{
    char path[256];
    if (out == NULL)
        return psf_fail(PSF_E_INVALID, "psf_shm_attach: null output");
    *out = NULL;
    int32_t status = normalise_name(name, path);
    if (status < 0)
        return status;
    int fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return psf_fail_errno("psf_shm_attach: shm_open(%s)", path);
    struct stat info;
    if (fstat(fd, &info) != 0) {
        status = psf_fail_errno("psf_shm_attach: fstat(%s)", path);
        close(fd);
        return status;
    }
    uint64_t file_bytes = (uint64_t)info.st_size;
    if (file_bytes < PSF_SHM_HEADER_BYTES) {
        close(fd);
        return psf_fail(PSF_E_PROTOCOL, "psf_shm_attach: %s is %llu bytes, too small for a header",
                        path, (unsigned long long)file_bytes);
    }
    /* The size is checked against the header before the rings are trusted. */
    void *base = mmap(NULL, file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return psf_fail_errno("psf_shm_attach: mmap(%s)", path);
    uint8_t *bytes = base;
    uint64_t ring_bytes = 0;
    status = check_identity(bytes, file_bytes, path, &ring_bytes);
    if (status == PSF_OK &&
        atomic_load_explicit(FIELD(bytes, _Atomic uint32_t, PSF_SHM_OFF_CREATOR_CLOSED),
                             memory_order_acquire) != 0)
        status = psf_fail(PSF_E_CLOSED, "psf_shm_attach: the creator of %s has closed", path);
    int32_t expected = 0;
    if (status == PSF_OK &&
        !atomic_compare_exchange_strong(FIELD(bytes, _Atomic int32_t, PSF_SHM_OFF_ATTACHER_PID),
                                        &expected, (int32_t)getpid()))
        status = psf_fail(PSF_E_INVALID, "psf_shm_attach: %s is already attached by pid %d",
                          path, expected);
    psf_shm_conn *conn = NULL;
    if (status == PSF_OK && (conn = new_conn(bytes, file_bytes, ring_bytes, false, path)) == NULL)
        status = psf_fail(PSF_E_NOMEM, "psf_shm_attach: out of memory");
    if (status < 0) {
        munmap(base, file_bytes);
        return status;
    }
    /* One peer per segment: the name has done its job, so no file outlives a crash. */
    shm_unlink(path);
    *out = conn;
    return PSF_OK;
}

int32_t psf_shm_close(psf_shm_conn *conn)
{
    if (conn == NULL)
        return PSF_OK;
    atomic_store_explicit(conn->own_closed, 1, memory_order_seq_cst);
    /* Wake whichever of the peer's waits may be parked; it re-checks and sees the flag. */
    psf_shm_wake_all(conn->tx.data_seq);
    psf_shm_wake_all(conn->rx.space_seq);
    if (conn->is_creator)
        shm_unlink(conn->name); /* ENOENT when the attacher already did: fine */
    psf_shm_peer_forget(conn);
    munmap(conn->base, conn->map_bytes);
    free(conn);
    return PSF_OK;
}

int32_t psf_shm_set_spin(psf_shm_conn *conn, int64_t spin_ns)
{
    if (conn == NULL || spin_ns < 0)
        return psf_fail(PSF_E_INVALID, "psf_shm_set_spin: null connection or negative spin");
    conn->spin_ns = spin_ns;
    return PSF_OK;
}

int32_t psf_shm_max_claim(psf_shm_conn *conn, uint32_t *bytes)
{
    if (conn == NULL || bytes == NULL)
        return psf_fail(PSF_E_INVALID, "psf_shm_max_claim: null argument");
    *bytes = psf_shm_max_payload(conn);
    return PSF_OK;
}
