using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Interop;

/// <summary>
/// One native TCP connection of libpsf_native (psf_tcp_*): a blocking socket with TCP_NODELAY,
/// gather sends of up to five buffers in one sendmsg, and receives that take whatever has
/// arrived. Data-path calls return <see cref="NativeStatus"/> values (Again for back-pressure,
/// Closed when the peer closed, reset or was shut down) instead of throwing.
/// Threads: at most one sender and one receiver at a time; <see cref="Shutdown"/> from any
/// thread at any time before <see cref="Dispose"/>; Dispose only when nobody else is inside a
/// call: the caller arranges that.
/// </summary>
public sealed unsafe class TcpChannel : IDisposable
{
    private readonly TcpConnectionHandle _handle;
    private readonly nint _conn;

    private TcpChannel(nint conn)
    {
        _handle = new TcpConnectionHandle(conn);
        _conn = conn;
    }

    internal static TcpChannel Wrap(nint conn) => new(conn);

    /// <summary>Connects to an IPv4 or IPv6 literal address: Ok with the channel, or Timeout, Closed (refused), Invalid, System.</summary>
    public static NativeStatus Connect(string address, int port, long timeoutNs, out TcpChannel? channel)
    {
        PsfNative.EnsureAvailable();
        int status = NativeMethods.TcpConnect(address, (ushort)port, timeoutNs, out nint conn);
        channel = status == 0 ? new TcpChannel(conn) : null;
        return (NativeStatus)status;
    }

    /// <summary>
    /// Sends the five buffers back to back (empty ones are skipped) in as few system calls as
    /// the socket allows, waiting up to <paramref name="timeoutNs"/> (negative: without bound)
    /// for room. Ok, Timeout, Closed or System.
    /// </summary>
    public NativeStatus Send(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c, ReadOnlySpan<byte> d, ReadOnlySpan<byte> e, long timeoutNs)
    {
        fixed (byte* pa = a)
        fixed (byte* pb = b)
        fixed (byte* pc = c)
        fixed (byte* pd = d)
        fixed (byte* pe = e)
        {
            PsfIoVec* iov = stackalloc PsfIoVec[5];
            int count = Gather(iov, pa, a.Length, pb, b.Length, pc, c.Length, pd, d.Length, pe, e.Length);
            return (NativeStatus)NativeMethods.TcpSendv(_conn, iov, count, timeoutNs);
        }
    }

    /// <summary>
    /// As <see cref="Send"/>, but Again with nothing sent when the socket cannot take a byte now;
    /// once the first bytes went out the rest is sent waiting for room.
    /// </summary>
    public NativeStatus TrySend(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c, ReadOnlySpan<byte> d, ReadOnlySpan<byte> e)
    {
        fixed (byte* pa = a)
        fixed (byte* pb = b)
        fixed (byte* pc = c)
        fixed (byte* pd = d)
        fixed (byte* pe = e)
        {
            PsfIoVec* iov = stackalloc PsfIoVec[5];
            int count = Gather(iov, pa, a.Length, pb, b.Length, pc, c.Length, pd, d.Length, pe, e.Length);
            return (NativeStatus)NativeMethods.TcpTrySendv(_conn, iov, count);
        }
    }

    private static int Gather(PsfIoVec* iov, byte* pa, int la, byte* pb, int lb, byte* pc, int lc, byte* pd, int ld, byte* pe, int le)
    {
        int count = 0;
        Add(iov, ref count, pa, la);
        Add(iov, ref count, pb, lb);
        Add(iov, ref count, pc, lc);
        Add(iov, ref count, pd, ld);
        Add(iov, ref count, pe, le);
        return count;

        static void Add(PsfIoVec* iov, ref int count, byte* p, int length)
        {
            if (length == 0)
                return;
            iov[count].Base = p;
            iov[count].Length = (ulong)length;
            count++;
        }
    }

    /// <summary>
    /// Receives at least <paramref name="minBytes"/> (at least one) and at most buffer.Length
    /// bytes, taking whatever has arrived; <paramref name="received"/> counts them, also on
    /// failure. Ok, Timeout, Closed (end of stream or reset before minBytes) or System.
    /// </summary>
    public NativeStatus Receive(Span<byte> buffer, int minBytes, out int received, long timeoutNs)
    {
        ulong got;
        int status;
        fixed (byte* p = buffer)
            status = NativeMethods.TcpRecv(_conn, p, (ulong)buffer.Length, (ulong)minBytes, &got, timeoutNs);
        received = (int)got;
        return (NativeStatus)status;
    }

    /// <summary>Shuts both directions down: blocked sends and receives return Closed at once, the peer reads end of stream.</summary>
    public NativeStatus Shutdown() => (NativeStatus)NativeMethods.TcpShutdown(_conn);

    /// <summary>The peer's address and port, or null when the socket no longer knows it.</summary>
    public (string Address, int Port)? Peer()
    {
        byte* text = stackalloc byte[64];
        ushort port;
        if (NativeMethods.TcpPeer(_conn, text, 64, &port) != 0)
            return null;
        return (Marshal.PtrToStringUTF8((nint)text) ?? "?", port);
    }

    /// <summary>This thread's last native error message.</summary>
    public static string LastError() => PsfNative.LastError();

    /// <summary>Closes the socket.</summary>
    public void Dispose() => _handle.Dispose();
}

/// <summary>A native TCP listener (psf_tcp_listen): accepts <see cref="TcpChannel"/>s.</summary>
public sealed class TcpAcceptor : IDisposable
{
    private readonly TcpListenerHandle _handle;
    private readonly nint _listener;

    private TcpAcceptor(nint listener, int port)
    {
        _handle = new TcpListenerHandle(listener);
        _listener = listener;
        Port = port;
    }

    /// <summary>The port bound (the one the OS chose when 0 was asked for).</summary>
    public int Port { get; }

    /// <summary>Listens on an IPv4 or IPv6 literal address; throws <see cref="NativeException"/>.</summary>
    public static TcpAcceptor Listen(string address, int port)
    {
        PsfNative.EnsureAvailable();
        PsfNative.Check(NativeMethods.TcpListen(address, (ushort)port, out nint listener, out ushort bound), $"psf_tcp_listen {address} port {port}");
        return new TcpAcceptor(listener, bound);
    }

    /// <summary>Waits up to <paramref name="timeoutNs"/> for a connection: Ok with it, Timeout or System.</summary>
    public NativeStatus Accept(long timeoutNs, out TcpChannel? channel)
    {
        int status = NativeMethods.TcpAccept(_listener, timeoutNs, out nint conn);
        channel = status == 0 ? TcpChannel.Wrap(conn) : null;
        return (NativeStatus)status;
    }

    /// <summary>Stops listening; accepted channels stay open.</summary>
    public void Dispose() => _handle.Dispose();
}

/// <summary>Owns a psf_tcp_conn*; releasing it runs psf_tcp_close.</summary>
internal sealed class TcpConnectionHandle : SafeHandle
{
    public TcpConnectionHandle(nint conn)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle(conn);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => NativeMethods.TcpClose(handle) == 0;
}

/// <summary>Owns a psf_tcp_listener*; releasing it runs psf_tcp_listener_close.</summary>
internal sealed class TcpListenerHandle : SafeHandle
{
    public TcpListenerHandle(nint listener)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle(listener);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => NativeMethods.TcpListenerClose(handle) == 0;
}
