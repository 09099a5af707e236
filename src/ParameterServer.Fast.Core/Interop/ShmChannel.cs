namespace ParameterServer.Fast.Core.Interop;

/// <summary>
/// One end of a shared-memory connection of libpsf_native: a segment with two single-producer
/// single-consumer rings of records [i32 length | i32 type | payload padded to 8]. The creator
/// writes ring 0 and reads ring 1, the attacher the other way round.
/// <code>
///   segment (POSIX shm, unlinked once attached)
///   +-----------+---------------------------+---------------------------+
///   | header 4K | ring 0: creator → attacher | ring 1: attacher → creator |
///   +-----------+---------------------------+---------------------------+
/// </code>
/// Data-path calls return <see cref="NativeStatus"/> values (Again for back-pressure, Closed when
/// the peer closed or died) instead of throwing. Threads: at most one writer (TryClaim, Commit,
/// WaitClaim, Send) and one reader (TryRead, Release, Wait) at a time, and <see cref="Dispose"/>
/// only when neither is inside a call or holds a span from one: the caller arranges that.
/// Spans from <see cref="TryClaim"/> and <see cref="TryRead"/> point into the ring and are valid
/// until the matching Commit or Release.
/// </summary>
public sealed unsafe class ShmChannel : IDisposable
{
    private readonly ShmConnectionHandle _handle;
    private readonly nint _conn;

    private ShmChannel(nint conn, string name)
    {
        _handle = new ShmConnectionHandle(conn);
        _conn = conn;
        Name = name;
        uint max;
        PsfNative.Check(NativeMethods.ShmMaxClaim(conn, &max), "psf_shm_max_claim");
        MaxClaim = (int)Math.Min(max, int.MaxValue);
    }

    /// <summary>The segment's name (it disappears from /dev/shm once the peer attached).</summary>
    public string Name { get; }

    /// <summary>The largest record <see cref="TryClaim"/> accepts: half a ring minus 16 bytes.</summary>
    public int MaxClaim { get; }

    /// <summary>Creates the segment (the side that offers the connection); throws <see cref="NativeException"/>.</summary>
    public static ShmChannel Create(string name, long ringBytes)
    {
        PsfNative.EnsureAvailable();
        PsfNative.Check(NativeMethods.ShmCreate(name, (ulong)ringBytes, out nint conn), "psf_shm_create");
        return new ShmChannel(conn, name);
    }

    /// <summary>Attaches to a segment made by <see cref="Create"/>, possibly in another process.</summary>
    public static ShmChannel Attach(string name)
    {
        PsfNative.EnsureAvailable();
        PsfNative.Check(NativeMethods.ShmAttach(name, out nint conn), "psf_shm_attach");
        return new ShmChannel(conn, name);
    }

    /// <summary>How long waits spin before they park on the futex (default 20 µs).</summary>
    public void SetSpin(TimeSpan spin) => PsfNative.Check(NativeMethods.ShmSetSpin(_conn, spin.Ticks * 100), "psf_shm_set_spin");

    /// <summary>Reserves a record of <paramref name="length"/> bytes to write into; never blocks.</summary>
    public NativeStatus TryClaim(int length, out Span<byte> record)
    {
        void* ptr;
        int status = NativeMethods.ShmTryClaim(_conn, (uint)length, &ptr);
        record = status == 0 ? new Span<byte>(ptr, length) : default;
        return (NativeStatus)status;
    }

    /// <summary>Publishes the claimed record with <paramref name="type"/> (0..0xFFFFFF plus chunk flags).</summary>
    public NativeStatus Commit(int type) => (NativeStatus)NativeMethods.ShmCommit(_conn, type);

    /// <summary>Waits until a claim of <paramref name="length"/> bytes would succeed: Ok, Timeout or Closed.</summary>
    public NativeStatus WaitClaim(int length, long timeoutNs) => (NativeStatus)NativeMethods.ShmWaitClaim(_conn, (uint)length, timeoutNs);

    /// <summary>Copies <paramref name="data"/> out as one message, chunked when larger than a record.</summary>
    public NativeStatus Send(int type, ReadOnlySpan<byte> data, long timeoutNs)
    {
        fixed (byte* p = data)
            return (NativeStatus)NativeMethods.ShmSend(_conn, type, p, (ulong)data.Length, timeoutNs);
    }

    /// <summary>The next record in place (with its type word, chunk flags included); never blocks.</summary>
    public NativeStatus TryRead(out ReadOnlySpan<byte> record, out int type)
    {
        void* ptr;
        uint length;
        int t;
        int status = NativeMethods.ShmTryRead(_conn, &ptr, &length, &t);
        record = status == 0 ? new ReadOnlySpan<byte>(ptr, (int)length) : default;
        type = t;
        return (NativeStatus)status;
    }

    /// <summary>Frees the record of the last <see cref="TryRead"/> for the writer.</summary>
    public NativeStatus Release() => (NativeStatus)NativeMethods.ShmRelease(_conn);

    /// <summary>Waits until a record can be read: Ok, Timeout, or Closed once the peer closed or died and the ring is empty.</summary>
    public NativeStatus Wait(long timeoutNs) => (NativeStatus)NativeMethods.ShmWait(_conn, timeoutNs);

    /// <summary>This thread's last native error message.</summary>
    public static string LastError() => PsfNative.LastError();

    /// <summary>Marks this end closed (the peer sees Closed after draining), unmaps the segment.</summary>
    public void Dispose() => _handle.Dispose();
}
