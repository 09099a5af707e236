/* Shared-memory connections across processes: a fork()ed echo child, a child killed with
 * SIGKILL mid-stream, and attaches to segments that are missing or not ours. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "psf.h"
#include "psf_test.h"
#include "psf_test_shm.h"

#define RING ((uint64_t)64 * 1024)

/* Child: attach by name, echo `count` messages, close. Exit status says what failed. */
static int echo_child(const char *name, int count)
{
    psf_shm_conn *conn = NULL;
    if (psf_shm_attach(name, &conn) != PSF_OK)
        return 2;
    uint64_t cap = 4 * RING;
    uint8_t *buf = malloc(cap);
    for (int i = 0; i < count; i++) {
        uint64_t length;
        int32_t type;
        if (psf_shm_recv(conn, buf, cap, &length, &type, 5000 * PSF_MS) != PSF_OK)
            return 3;
        if (psf_shm_send(conn, type, buf, length, 5000 * PSF_MS) != PSF_OK)
            return 4;
    }
    psf_shm_close(conn);
    return 0;
}

static int reap(pid_t child, double seconds)
{
    double give_up = psf_test_seconds() + seconds;
    int status = 0;
    while (waitpid(child, &status, WNOHANG) == 0) {
        if (psf_test_seconds() > give_up) {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            return -1;
        }
        usleep(1000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void messages_round_trip_through_a_forked_child(void)
{
    static const uint64_t sizes[] = { 0, 1, 7, 8, 24, 32752, RING - 8, RING, 3 * RING, 5 };
    enum { COUNT = sizeof sizes / sizeof sizes[0] };
    char name[64];
    psf_test_shm_name(name, sizeof name, "fork");
    psf_shm_conn *conn = NULL;
    CHECK(psf_shm_create(name, RING, &conn) == PSF_OK);
    if (conn == NULL)
        return;
    fflush(NULL);
    pid_t child = fork();
    if (child == 0)
        _exit(echo_child(name, COUNT));
    uint8_t *out = malloc(4 * RING), *in = malloc(4 * RING);
    for (int i = 0; i < COUNT; i++) {
        psf_test_fill(out, sizes[i], (uint64_t)i + 100);
        CHECK(psf_shm_send(conn, i, out, sizes[i], 5000 * PSF_MS) == PSF_OK);
        uint64_t length = 0;
        int32_t type = -1;
        CHECK(psf_shm_recv(conn, in, 4 * RING, &length, &type, 5000 * PSF_MS) == PSF_OK);
        CHECK(length == sizes[i] && type == i);
        CHECK(psf_test_matches(in, length, (uint64_t)i + 100));
    }
    CHECK(reap(child, 5) == 0);
    /* The child closed in order: the parent sees that, and the name is gone already. */
    uint64_t length;
    int32_t type;
    CHECK(psf_shm_recv(conn, in, 4 * RING, &length, &type, 1000 * PSF_MS) == PSF_E_CLOSED);
    psf_shm_conn *late = NULL;
    CHECK(psf_shm_attach(name, &late) == PSF_E_SYSTEM);
    free(out);
    free(in);
    psf_shm_close(conn);
}

/* Child: attach and stream small messages until killed. */
static void streaming_child(const char *name)
{
    psf_shm_conn *conn = NULL;
    if (psf_shm_attach(name, &conn) != PSF_OK)
        _exit(2);
    uint64_t counter = 0;
    for (;;) {
        if (psf_shm_send(conn, 1, &counter, sizeof counter, 5000 * PSF_MS) != PSF_OK)
            _exit(3);
        counter++;
    }
}

static void a_killed_child_is_reported_closed_within_a_second(void)
{
    char name[64];
    psf_test_shm_name(name, sizeof name, "kill");
    psf_shm_conn *conn = NULL;
    CHECK(psf_shm_create(name, RING, &conn) == PSF_OK);
    if (conn == NULL)
        return;
    fflush(NULL);
    pid_t child = fork();
    if (child == 0)
        streaming_child(name);
    uint64_t expected = 0, value = 0, length = 0;
    int32_t type = 0;
    for (; expected < 10000; expected++) {
        if (psf_shm_recv(conn, &value, sizeof value, &length, &type, 5000 * PSF_MS) != PSF_OK)
            break;
        if (value != expected)
            break;
    }
    CHECK(expected == 10000);
    kill(child, SIGKILL); /* not reaped yet: a zombie must count as dead too */
    double killed = psf_test_seconds();
    int32_t status;
    while ((status = psf_shm_recv(conn, &value, sizeof value, &length, &type, 5000 * PSF_MS)) ==
           PSF_OK)
        CHECK(value == expected++);
    double seconds = psf_test_seconds() - killed;
    CHECK(status == PSF_E_CLOSED);
    CHECK(seconds < 1.0);
    printf("     dead peer noticed after %.1f ms\n", seconds * 1e3);
    CHECK(reap(child, 5) == -1); /* killed, not exited */
    psf_shm_close(conn);
}

static void a_writer_blocked_on_a_killed_reader_is_released(void)
{
    char name[64];
    psf_test_shm_name(name, sizeof name, "killr");
    psf_shm_conn *conn = NULL;
    CHECK(psf_shm_create(name, RING, &conn) == PSF_OK);
    if (conn == NULL)
        return;
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        psf_shm_conn *attached = NULL;
        if (psf_shm_attach(name, &attached) != PSF_OK)
            _exit(2);
        pause(); /* attached, reads nothing */
        _exit(0);
    }
    uint8_t block[4096] = { 0 };
    /* Fill the ring (the first sends may wait for the child to attach, which is fine). */
    int32_t status;
    while ((status = psf_shm_send(conn, 1, block, sizeof block, 200 * PSF_MS)) == PSF_OK)
        ;
    CHECK(status == PSF_E_TIMEOUT);
    kill(child, SIGKILL);
    double killed = psf_test_seconds();
    CHECK(psf_shm_send(conn, 1, block, sizeof block, 5000 * PSF_MS) == PSF_E_CLOSED);
    CHECK(psf_test_seconds() - killed < 1.0);
    reap(child, 5);
    psf_shm_close(conn);
}

static void attaching_to_a_missing_segment_fails_clearly(void)
{
    psf_shm_conn *conn = NULL;
    psf_last_error_clear();
    CHECK(psf_shm_attach("psf-test-no-such-segment", &conn) == PSF_E_SYSTEM);
    CHECK(conn == NULL);
    CHECK(strstr(psf_last_error(), "psf-test-no-such-segment") != NULL);
    CHECK(psf_shm_attach("bad/name", &conn) == PSF_E_INVALID);
    CHECK(psf_shm_attach("", &conn) == PSF_E_INVALID);
    CHECK(psf_shm_create("psf-test-size", 1000, &conn) == PSF_E_INVALID);
    CHECK(psf_shm_create("psf-test-size", PSF_SHM_RING_MIN / 2, &conn) == PSF_E_INVALID);
    CHECK(psf_shm_create("psf-test-size", PSF_SHM_RING_MAX * 2, &conn) == PSF_E_INVALID);
    CHECK(strstr(psf_last_error(), "power of two") != NULL);
}

/* Writes a fake segment: a valid psf header with one field replaced. */
static void write_segment(const char *name, uint64_t magic, uint32_t version, uint64_t ring,
                          uint64_t file_bytes)
{
    char path[80];
    snprintf(path, sizeof path, "/%s", name);
    int fd = shm_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)file_bytes) != 0)
        return;
    uint8_t header[32] = { 0 };
    memcpy(header, &magic, 8);
    memcpy(header + 8, &version, 4);
    uint32_t header_bytes = 4096;
    memcpy(header + 12, &header_bytes, 4);
    memcpy(header + 16, &ring, 8);
    if (pwrite(fd, header, sizeof header, 0) != (ssize_t)sizeof header)
        fprintf(stderr, "pwrite failed\n");
    close(fd);
}

static void attaching_to_a_corrupt_segment_is_refused(void)
{
    const uint64_t magic = 0x31304D4853465350ull; /* "PSFSHM01" */
    const uint64_t good = 4096 + 2 * RING;
    struct { uint64_t magic; uint32_t version; uint64_t ring, file; const char *says; } cases[] = {
        { 0x1234, 1, RING, good, "magic" },
        { magic, 99, RING, good, "version" },
        { magic, 1, RING + 8, good, "sizes" },
        { magic, 1, RING, good - 4096, "sizes" },
        { magic, 1, RING, 100, "too small" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64];
        psf_test_shm_name(name, sizeof name, "corrupt");
        write_segment(name, cases[i].magic, cases[i].version, cases[i].ring, cases[i].file);
        psf_shm_conn *conn = NULL;
        psf_last_error_clear();
        CHECK(psf_shm_attach(name, &conn) == PSF_E_PROTOCOL);
        CHECK(conn == NULL);
        CHECK(strstr(psf_last_error(), cases[i].says) != NULL);
        char path[80];
        snprintf(path, sizeof path, "/%s", name);
        shm_unlink(path);
    }
}

static void a_segment_is_attached_only_once_and_not_after_close(void)
{
    char name[64];
    psf_test_shm_name(name, sizeof name, "once");
    psf_shm_conn *server = NULL, *client = NULL, *second = NULL;
    CHECK(psf_shm_create(name, RING, &server) == PSF_OK);
    CHECK(psf_shm_create(name, RING, &second) == PSF_E_SYSTEM); /* the name is taken */
    CHECK(psf_shm_attach(name, &client) == PSF_OK);
    CHECK(psf_shm_attach(name, &second) == PSF_E_SYSTEM);       /* the name is gone */
    psf_shm_close(client);
    psf_shm_close(server);
    psf_test_shm_name(name, sizeof name, "closed");
    CHECK(psf_shm_create(name, RING, &server) == PSF_OK);
    psf_shm_close(server);
    CHECK(psf_shm_attach(name, &client) == PSF_E_SYSTEM);       /* unlinked on close */
}

PSF_TEST_MAIN(PSF_TEST(messages_round_trip_through_a_forked_child),
              PSF_TEST(a_killed_child_is_reported_closed_within_a_second),
              PSF_TEST(a_writer_blocked_on_a_killed_reader_is_released),
              PSF_TEST(attaching_to_a_missing_segment_fails_clearly),
              PSF_TEST(attaching_to_a_corrupt_segment_is_refused),
              PSF_TEST(a_segment_is_attached_only_once_and_not_after_close))
