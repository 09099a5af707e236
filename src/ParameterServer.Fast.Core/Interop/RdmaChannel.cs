using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Interop;

/// <summary>Whose verbs a <see cref="RdmaChannel"/> runs on.</summary>
public enum RdmaVerbs
{
    /// <summary>The first RDMA device (libibverbs).</summary>
    Device,

    /// <summary>The shim's in-memory fake: channels of one process deliver to each other. Tests only.</summary>
    Fake,
}

/// <summary>
/// One reliable-connected queue pair of libpsf_native (psf_rdma_*) with its receive buffers, its
/// region for the peer's RDMA writes and its registration cache. Setup: <see cref="LocalInfo"/>
/// goes to the peer over another channel (TCP), the peer's goes to <see cref="Connect"/>.
/// Credit-based flow control lives in the shim: <see cref="Send"/> and <see cref="Write"/>
/// return Again without a credit (back-pressure), and a failed completion makes every later
/// call return Closed with <see cref="PsfNative.LastError"/> naming the failed work request.
/// Threads: one thread at a time per channel (the caller serialises).
/// </summary>
public sealed unsafe class RdmaChannel : IDisposable
{
    /// <summary>PSF_RDMA_INFO_BYTES: the setup blob's size.</summary>
    public const int InfoBytes = 64;

    /// <summary>The header psf_rdma_send puts in front of a message (PSF_RDMA_MSG_HEADER).</summary>
    public const int MessageHeaderBytes = 16;

    private readonly RdmaConnectionHandle _handle;
    private readonly nint _conn;

    private RdmaChannel(nint conn)
    {
        _handle = new RdmaConnectionHandle(conn);
        _conn = conn;
    }

    /// <summary>The number of RDMA devices, or why there are none (no device, no kernel support, not compiled in).</summary>
    public static (int Count, string? Reason) Devices()
    {
        if (!PsfNative.IsAvailable)
            return (0, PsfNative.UnavailableReason);
        int count = NativeMethods.RdmaDeviceCount();
        return count >= 0 ? (count, count == 0 ? "no RDMA device" : null) : (0, PsfNative.LastError());
    }

    /// <summary>
    /// Opens a queue pair with <paramref name="recvSlots"/> receive buffers of
    /// <paramref name="slotBytes"/>, a region of <paramref name="regionBytes"/> for the peer's
    /// writes and a registration budget of <paramref name="mrCacheBytes"/>; throws
    /// <see cref="NativeException"/> (NoDevice when there is no RDMA device, with the reason).
    /// </summary>
    public static RdmaChannel Create(RdmaVerbs verbs, int recvSlots, int slotBytes, long regionBytes, long mrCacheBytes)
    {
        PsfNative.EnsureAvailable();
        nint conn;
        int status = verbs == RdmaVerbs.Fake
            ? NativeMethods.RdmaFakeCreate((uint)recvSlots, (uint)slotBytes, (ulong)regionBytes, (ulong)mrCacheBytes, out conn)
            : NativeMethods.RdmaConnCreate((uint)recvSlots, (uint)slotBytes, (ulong)regionBytes, (ulong)mrCacheBytes, out conn);
        PsfNative.Check(status, verbs == RdmaVerbs.Fake ? "psf_rdma_fake_create" : "psf_rdma_conn_create");
        return new RdmaChannel(conn);
    }

    /// <summary>This end's setup blob for the peer.</summary>
    public byte[] LocalInfo()
    {
        var blob = new byte[InfoBytes];
        uint length;
        fixed (byte* p = blob)
            PsfNative.Check(NativeMethods.RdmaLocalInfo(_conn, p, InfoBytes, &length), "psf_rdma_local_info");
        return blob;
    }

    /// <summary>Connects to the peer its blob describes; throws <see cref="NativeException"/> (Protocol for a bad blob).</summary>
    public void Connect(ReadOnlySpan<byte> remoteInfo)
    {
        fixed (byte* p = remoteInfo)
            PsfNative.Check(NativeMethods.RdmaConnect(_conn, p, (uint)remoteInfo.Length), "psf_rdma_connect");
    }

    /// <summary>Sends a copy of <paramref name="data"/> as a message of <paramref name="type"/>: Ok, Again (no credit or send slot), Invalid, Closed.</summary>
    public NativeStatus Send(int type, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
            return (NativeStatus)NativeMethods.RdmaSend(_conn, type, p, (uint)data.Length);
    }

    /// <summary>
    /// Writes <paramref name="data"/> into the peer's region: Ok with a token, Again (no credit or
    /// region space), Invalid, Closed. The device reads the memory later: it must be pinned (the
    /// pinned object heap, native memory) and stay unchanged until a Written event with the token.
    /// </summary>
    public NativeStatus Write(ReadOnlySpan<byte> data, out ulong token)
    {
        ulong t;
        int status;
        fixed (byte* p = data)
            status = NativeMethods.RdmaWrite(_conn, p, (ulong)data.Length, &t);
        token = t;
        return (NativeStatus)status;
    }

    /// <summary>
    /// Registers memory the caller owns (a table's slab) under <paramref name="id"/> for
    /// <see cref="WriteRegion"/>; registering the id again (the slab grew) replaces the old
    /// registration, which stays if the device refuses. Ok with the local key, else the status
    /// (<see cref="PsfNative.LastError"/> says why). Deregister before freeing the memory.
    /// </summary>
    public NativeStatus RegisterRegion(long id, nint address, long length, out uint lkey)
    {
        uint key;
        int status = NativeMethods.RdmaRegionRegister(_conn, (ulong)id, (void*)address, (ulong)length, &key);
        lkey = status == 0 ? key : 0;
        return (NativeStatus)status;
    }

    /// <summary>Drops region <paramref name="id"/>'s registration (also on a failed connection).</summary>
    public NativeStatus DeregisterRegion(long id) => (NativeStatus)NativeMethods.RdmaRegionDeregister(_conn, (ulong)id);

    /// <summary>
    /// <see cref="Write"/> from inside registered region <paramref name="id"/>, with no copy and no
    /// registration cache: Invalid when the bytes do not lie inside it. The device reads them after
    /// the call: keep them unchanged until a Written event with the token.
    /// </summary>
    public NativeStatus WriteRegion(long id, nint address, long length, out ulong token)
    {
        ulong t;
        int status = NativeMethods.RdmaWriteRegion(_conn, (ulong)id, (void*)address, (ulong)length, &t);
        token = t;
        return (NativeStatus)status;
    }

    /// <summary>Reaps completions: 1 with the next event, 0 when there is none, or a negative status (Closed after a failed completion). Never blocks.</summary>
    public int Poll(out RdmaEvent next)
    {
        RdmaEvent e;
        int status = NativeMethods.RdmaPoll(_conn, &e);
        next = e;
        return status;
    }

    /// <summary>Gives a Message or Write event's buffer back (Writes in the order delivered).</summary>
    public NativeStatus Release(ulong token) => (NativeStatus)NativeMethods.RdmaRelease(_conn, token);

    /// <summary>Credits and registration-cache counters.</summary>
    public RdmaStats Stats()
    {
        RdmaStats stats;
        PsfNative.Check(NativeMethods.RdmaConnStats(_conn, &stats), "psf_rdma_conn_stats");
        return stats;
    }

    /// <summary>Test hook: the next send or write on any fake channel completes with this error status.</summary>
    public static void FakeFailNext(int status) => PsfNative.Check(NativeMethods.RdmaFakeFailNext(status), "psf_rdma_fake_fail_next");

    /// <summary>Test hook: registrations the fake made and dropped so far.</summary>
    public static (ulong Registered, ulong Deregistered) FakeCounts()
    {
        ulong made, dropped;
        PsfNative.Check(NativeMethods.RdmaFakeCounts(&made, &dropped), "psf_rdma_fake_counts");
        return (made, dropped);
    }

    /// <summary>
    /// Test hook: where a write posted on any fake channel read from, how much, under which local
    /// key; <paramref name="back"/> writes before the last (0: the last; the fake keeps 16).
    /// </summary>
    public static (nint Address, long Length, uint LocalKey) FakePostedWrite(int back = 0)
    {
        ulong address, length;
        uint lkey;
        PsfNative.Check(NativeMethods.RdmaFakePostedWrite((uint)back, &address, &length, &lkey), "psf_rdma_fake_posted_write");
        return ((nint)address, (long)length, lkey);
    }

    /// <summary>
    /// Test hook: while true, fake channels execute posted sends and writes only when the sender
    /// polls its completions, as a device reads memory some time after the post.
    /// </summary>
    public static void FakeDeferred(bool deferred) => PsfNative.Check(NativeMethods.RdmaFakeSetDeferred(deferred ? 1 : 0), "psf_rdma_fake_set_deferred");

    /// <summary>Destroys the queue pair and frees every buffer and registration.</summary>
    public void Dispose() => _handle.Dispose();
}

/// <summary>Owns a psf_rdma_conn*; releasing it runs psf_rdma_close.</summary>
internal sealed class RdmaConnectionHandle : SafeHandle
{
    public RdmaConnectionHandle(nint conn)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle(conn);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => NativeMethods.RdmaClose(handle) == 0;
}
