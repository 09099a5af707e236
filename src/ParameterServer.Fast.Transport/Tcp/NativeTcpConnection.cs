using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>
/// Frames over one TCP connection of the C shim (<see cref="TcpEngine.Native"/>), each as
/// [u32 length, little-endian][payload] like <see cref="TcpConnection"/>, so the two engines
/// speak the same wire format. A send is one gather sendmsg of the prefix and the frame's
/// segments from where they lie, under a lock so frames of many threads never interleave; the
/// socket stays blocking, so waiting for room is the kernel's, with no managed machinery (and
/// nothing allocated) in between. A dedicated thread receives: one blocking recvmsg takes
/// whatever has arrived into a pinned buffer and every complete frame in it goes to the
/// handler in place.
/// </summary>
internal sealed class NativeTcpConnection : IConnection
{
    private const int PrefixBytes = 4;
    // 256 KiB: the receive buffer's starting size; it grows to the largest frame seen.
    private const int InitialReceiveBytes = 256 * 1024;
    private const int ReadAheadLimit = 64 * 1024;

    private readonly TcpChannel _channel;
    private readonly int _maxFrameBytes;
    private readonly object _sendLock = new();
    // Shutdown may run on any thread, close only once nobody is inside the channel: this lock
    // orders the two so a shutdown never touches a closed connection.
    private readonly object _lifeLock = new();
    private readonly byte[] _prefix = new byte[PrefixBytes];
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IFrameHandler? _handler;
    private Thread? _receiveThread;
    private volatile bool _stopping;
    private volatile bool _closed;
    private bool _channelClosed;
    private ConnectionClosedException? _failure; // why a send failed, reported by the receive thread

    public NativeTcpConnection(TcpChannel channel, string remoteName, int maxFrameBytes)
    {
        _channel = channel;
        RemoteName = remoteName;
        _maxFrameBytes = maxFrameBytes;
    }

    public string RemoteName { get; }

    public bool IsConnected => !_closed;

    public Task Completion => _completion.Task;

    public void Start(IFrameHandler handler)
    {
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
            throw new InvalidOperationException($"connection to {RemoteName} already started");
        _receiveThread = new Thread(ReceiveLoop) { IsBackground = true, Name = $"psf-tcpn-recv {RemoteName}" };
        _receiveThread.Start();
    }

    public ValueTask SendAsync(FrameSegments frame, CancellationToken cancellationToken = default) =>
        SendResults.ThrowIfNotSent(this, TrySendAsync(frame, cancellationToken));

    public SendStatus TrySend(FrameSegments frame)
    {
        CheckLength(frame.Length);
        if (_closed)
            return SendStatus.NotConnected;
        if (!Monitor.TryEnter(_sendLock))
            return SendStatus.BackPressured;
        try
        {
            if (_closed)
                return SendStatus.NotConnected;
            BinaryPrimitives.WriteUInt32LittleEndian(_prefix, (uint)frame.Length);
            NativeStatus status = _channel.TrySend(_prefix, frame.First.Span, frame.Second.Span, frame.Third.Span, frame.Fourth.Span);
            return status switch
            {
                NativeStatus.Ok => SendStatus.Sent,
                NativeStatus.Again => SendStatus.BackPressured,
                _ => Failed(status),
            };
        }
        finally
        {
            Monitor.Exit(_sendLock);
        }
    }

    // The send happens in the caller, blocking while the socket has no room: the ValueTask is
    // always complete when returned.
    public ValueTask<SendStatus> TrySendAsync(FrameSegments frame, CancellationToken cancellationToken = default)
    {
        CheckLength(frame.Length);
        if (_closed)
            return new ValueTask<SendStatus>(SendStatus.NotConnected);
        lock (_sendLock)
        {
            if (_closed)
                return new ValueTask<SendStatus>(SendStatus.NotConnected);
            BinaryPrimitives.WriteUInt32LittleEndian(_prefix, (uint)frame.Length);
            NativeStatus status = _channel.Send(_prefix, frame.First.Span, frame.Second.Span, frame.Third.Span, frame.Fourth.Span, timeoutNs: -1);
            return new ValueTask<SendStatus>(status == NativeStatus.Ok ? SendStatus.Sent : Failed(status));
        }
    }

    // A send failed: the stream is unusable (a frame may be cut). Shut it down, so the receive
    // thread ends and reports; the status says why only to the caller.
    private SendStatus Failed(NativeStatus status)
    {
        Interlocked.CompareExchange(ref _failure,
            new ConnectionClosedException($"connection to {RemoteName} failed while sending: {status} {TcpChannel.LastError()}"), null);
        Shutdown();
        return SendStatus.NotConnected;
    }

    private void CheckLength(long length)
    {
        if (length > _maxFrameBytes)
            ThrowTooLarge(length);
    }

    [DoesNotReturn]
    private void ThrowTooLarge(long length) =>
        throw new ArgumentException($"frame of {length} bytes exceeds the {_maxFrameBytes}-byte limit of {RemoteName}");

    private void ReceiveLoop()
    {
        PinnedBuffer pinned = FrameBufferPool.Shared.Rent(InitialReceiveBytes);
        byte[] buffer = pinned.Array;
        int filled = 0, needed = 0;
        Exception? error = null;
        try
        {
            while (true)
            {
                // Ask for the rest of a frame known to be incomplete in one call, and no further;
                // otherwise take whatever arrives (at least one byte), at most 64 KiB: bytes of the
                // frame after would have to be moved to the front once this one is delivered (see
                // TcpConnection, where that was a quarter of a dense push's bytes).
                int min = Math.Max(1, needed - filled);
                int window = needed > ReadAheadLimit ? needed - filled : Math.Min(buffer.Length - filled, ReadAheadLimit);
                NativeStatus status = _channel.Receive(buffer.AsSpan(filled, window), min, out int read, timeoutNs: -1);
                filled += read;
                if (status != NativeStatus.Ok)
                {
                    error = Ended(status, filled);
                    break;
                }
                int consumed = DeliverFrames(buffer.AsSpan(0, filled), out needed);
                if (consumed > 0)
                {
                    buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                    filled -= consumed;
                }
                if (needed > buffer.Length)
                {
                    PinnedBuffer larger = FrameBufferPool.Shared.Rent(needed);
                    buffer.AsSpan(0, filled).CopyTo(larger.Array);
                    pinned.Dispose();
                    pinned = larger;
                    buffer = larger.Array;
                }
            }
        }
        catch (Exception e)
        {
            // A handler that throws, or a protocol breach found while framing: this connection
            // ends, the process does not.
            error = e;
        }
        finally
        {
            pinned.Dispose();
        }
        Close(error);
    }

    // Why the stream ended: null for an orderly end between frames (or our own close).
    private Exception? Ended(NativeStatus status, int filled)
    {
        if (Volatile.Read(ref _failure) is { } failure)
            return failure;
        if (_stopping)
            return null;
        string reason = TcpChannel.LastError();
        if (status == NativeStatus.Closed && filled == 0 && reason.Length == 0)
            return null;
        if (filled > 0)
            return new ConnectionClosedException($"{RemoteName} closed the connection in the middle of a frame ({filled} bytes of it received)");
        return new ConnectionClosedException($"connection to {RemoteName} lost: {status} {reason}");
    }

    // Hands each complete frame to the handler; returns the bytes consumed and, when a frame is
    // incomplete, the bytes it needs in all.
    private int DeliverFrames(ReadOnlySpan<byte> data, out int needed)
    {
        int offset = 0;
        needed = 0;
        while (data.Length - offset >= PrefixBytes)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
            if (length > (uint)_maxFrameBytes)
                throw new InvalidDataException($"{RemoteName} announced a frame of {length} bytes; the limit is {_maxFrameBytes}");
            int total = PrefixBytes + (int)length;
            if (data.Length - offset < total)
            {
                needed = total;
                break;
            }
            _handler!.OnFrame(this, data.Slice(offset + PrefixBytes, (int)length));
            offset += total;
        }
        if (needed == 0 && data.Length - offset > 0)
            needed = PrefixBytes; // part of a prefix: at least the rest of it
        return offset;
    }

    private void Shutdown()
    {
        lock (_lifeLock)
        {
            if (!_channelClosed)
                _channel.Shutdown();
        }
    }

    private void Close(Exception? error)
    {
        _stopping = true;
        // Releases a sender blocked for room, so the send lock comes free.
        Shutdown();
        lock (_sendLock)
            _closed = true;
        lock (_lifeLock)
        {
            if (!_channelClosed)
            {
                _channelClosed = true;
                _channel.Dispose();
            }
        }
        if (error is null ? _completion.TrySetResult() : _completion.TrySetException(error))
            _handler?.OnClosed(this, error);
    }

    public ValueTask DisposeAsync()
    {
        _stopping = true;
        Thread? receiver = _receiveThread;
        if (receiver is null)
        {
            Close(null);
            return ValueTask.CompletedTask;
        }
        // The receive thread sees end of stream at once and closes the channel on its way out.
        Shutdown();
        if (receiver != Thread.CurrentThread)
            receiver.Join(TimeSpan.FromSeconds(2));
        return ValueTask.CompletedTask;
    }
}
