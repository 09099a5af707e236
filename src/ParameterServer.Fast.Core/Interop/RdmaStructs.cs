using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Interop;

/// <summary>What <see cref="RdmaEvent.Kind"/> reports (PSF_RDMA_EVENT_* of psf.h).</summary>
public enum RdmaEventKind
{
    /// <summary>A two-sided message landed in one of our receive buffers.</summary>
    Message = 1,

    /// <summary>A peer's RDMA write landed in our region.</summary>
    Write = 2,

    /// <summary>One of our writes finished: its source buffer may be reused.</summary>
    Written = 3,
}

/// <summary>
/// psf_rdma_event of psf.h, 32 bytes. Data of a Message or Write stays valid until
/// <see cref="RdmaChannel.Release"/> of its token.
/// <code>
///   0      4      8        16       24       32
///   +------+------+--------+--------+--------+
///   | kind | type | length | data   | token  |
///   +------+------+--------+--------+--------+
/// </code>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct RdmaEvent
{
    public const int Size = 32;

    /// <summary>int32_t kind</summary>
    public RdmaEventKind Kind;

    /// <summary>int32_t type: the sender's message type; 0 otherwise.</summary>
    public int Type;

    /// <summary>uint64_t length</summary>
    public ulong Length;

    /// <summary>const void *data</summary>
    public byte* Data;

    /// <summary>uint64_t token</summary>
    public ulong Token;
}

/// <summary>psf_rdma_stats of psf.h, 40 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct RdmaStats
{
    public const int Size = 40;

    /// <summary>uint32_t credits: receive buffers of the peer we may still fill.</summary>
    public uint Credits;

    /// <summary>uint32_t recv_slots</summary>
    public uint RecvSlots;

    /// <summary>uint64_t mr_hits</summary>
    public ulong MrHits;

    /// <summary>uint64_t mr_misses</summary>
    public ulong MrMisses;

    /// <summary>uint64_t mr_evictions</summary>
    public ulong MrEvictions;

    /// <summary>uint64_t mr_bytes</summary>
    public ulong MrBytes;
}
