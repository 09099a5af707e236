/* The shared-memory segment of one connection: offsets and record format. Both processes map
 * the same file, so everything here is part of the wire contract between them (bump
 * PSF_SHM_VERSION when it changes).
 *
 * Segment (all offsets from the start of the mapping):
 *
 *   0          64         128        192        256        320        384       4096
 *   +----------+----------+----------+----------+----------+----------+---...---+
 *   | identity |  ring 0 control (creator -> attacher) |  ring 1 control (attacher -> creator)
 *   +----------+----------+----------+----------+----------+----------+---...---+
 *   4096                          4096 + ring_bytes              4096 + 2 * ring_bytes
 *   +-----------------------------+------------------------------+
 *   | ring 0 data                 | ring 1 data                  |
 *   +-----------------------------+------------------------------+
 *
 * Identity line (offset 0):
 *   0  uint64 magic          "PSFSHM01", written last by the creator (release)
 *   8  uint32 version        PSF_SHM_VERSION
 *   12 uint32 header bytes   4096
 *   16 uint64 ring bytes     power of two
 *   24 int32  creator pid
 *   28 int32  attacher pid   0 until attached; set by compare-and-swap so one attach wins
 *   32 uint32 creator closed
 *   36 uint32 attacher closed
 *
 * Ring control, three cache lines so the reader's and writer's hot words never share one:
 *   +0   uint64 head             consumed position, written by the reader (release)
 *   +64  uint32 reader waiting   1 while the reader is about to park
 *   +68  uint32 data sequence    futex word the reader parks on; the writer bumps it to wake
 *   +128 uint32 writer waiting   1 while the writer is about to park on a full ring
 *   +132 uint32 space sequence   futex word the writer parks on; the reader bumps it to wake
 *
 * The writer's own position (tail) lives in its process only: the reader follows records by
 * their lengths and never needs it.
 *
 * Record (8-byte aligned, contiguous, never split by the ring end):
 *   0  int32 length   header + payload bytes, unpadded; 0 = not yet published
 *   4  int32 type     caller's type and chunk flags, or PSF_SHM_TYPE_PADDING
 *   8  payload        padded to a multiple of 8
 * The writer stores length last with release ordering; before that it zeroes the length word
 * where the following record will start, so a reader never mistakes old bytes for a record.
 * This is why the writer always keeps 8 bytes free: the next header slot is never unread data.
 */
#ifndef PSF_SHM_LAYOUT_H
#define PSF_SHM_LAYOUT_H

#include <stdint.h>

#define PSF_SHM_MAGIC   0x31304D4853465350ull /* "PSFSHM01" read as little-endian bytes */
#define PSF_SHM_VERSION 1u

#define PSF_SHM_HEADER_BYTES 4096u

#define PSF_SHM_OFF_MAGIC           0
#define PSF_SHM_OFF_VERSION         8
#define PSF_SHM_OFF_HEADER_BYTES    12
#define PSF_SHM_OFF_RING_BYTES      16
#define PSF_SHM_OFF_CREATOR_PID     24
#define PSF_SHM_OFF_ATTACHER_PID    28
#define PSF_SHM_OFF_CREATOR_CLOSED  32
#define PSF_SHM_OFF_ATTACHER_CLOSED 36

#define PSF_SHM_OFF_RING_CONTROL(ring) (64u + (ring) * 192u)
#define PSF_SHM_CTL_HEAD            0
#define PSF_SHM_CTL_READER_WAITING  64
#define PSF_SHM_CTL_DATA_SEQ        68
#define PSF_SHM_CTL_WRITER_WAITING  128
#define PSF_SHM_CTL_SPACE_SEQ       132

#define PSF_SHM_OFF_RING_DATA(ring, ring_bytes) (PSF_SHM_HEADER_BYTES + (ring) * (ring_bytes))

#define PSF_SHM_RECORD_HEADER 8u
#define PSF_SHM_RECORD_ALIGN  8u
#define PSF_SHM_REC_LENGTH    0
#define PSF_SHM_REC_TYPE      4

/* A padding record fills the space from a record that would not fit up to the ring end. */
#define PSF_SHM_TYPE_PADDING ((int32_t)0x80000000)

/* The chunk header: a FIRST chunk's payload begins with the message's total length. */
#define PSF_SHM_CHUNK_TOTAL_BYTES 8u

#endif
