using System.Buffers.Binary;
using System.Net.Sockets;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>
/// Frames over one TCP socket, each as [u32 length, little-endian][payload]. Sends from many
/// threads take turns under a lock; a frame up to 64 KiB is coalesced with its length prefix into
/// one buffer and one send call, a larger one goes out segment by segment from where it lies.
/// A dedicated thread receives: it reads up to 64 KiB (or the rest of a large frame) into a pinned
/// buffer and hands every complete frame in it to the handler in place, so a burst of small
/// frames costs one receive call.
/// </summary>
internal sealed class TcpConnection : IConnection
{
    private const int PrefixBytes = 4;
    // 64 KiB: a frame this small costs less to copy than a second system call.
    private const int CoalesceLimit = 64 * 1024;
    // 256 KiB: the receive buffer's starting size; it grows to the largest frame seen.
    private const int InitialReceiveBytes = 256 * 1024;

    private readonly Socket _socket;
    private readonly int _maxFrameBytes;
    private readonly object _sendLock = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PinnedBuffer? _sendBuffer;
    private IFrameHandler? _handler;
    private volatile bool _closed;

    public TcpConnection(Socket socket, string remoteName, int maxFrameBytes)
    {
        _socket = socket;
        RemoteName = remoteName;
        _maxFrameBytes = maxFrameBytes;
        _sendBuffer = FrameBufferPool.Shared.Rent(CoalesceLimit + PrefixBytes);
    }

    public string RemoteName { get; }

    public bool IsConnected => !_closed;

    public Task Completion => _completion.Task;

    public void Start(IFrameHandler handler)
    {
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
            throw new InvalidOperationException($"connection to {RemoteName} already started");
        var thread = new Thread(ReceiveLoop) { IsBackground = true, Name = $"psf-tcp-recv {RemoteName}" };
        thread.Start();
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
            // poll(POLLOUT) with no wait: writable means the kernel takes at least part of the
            // frame at once; the rest of a frame larger than the free space is then waited for.
            if (!_closed && !_socket.Poll(0, SelectMode.SelectWrite))
                return SendStatus.BackPressured;
            return SendLocked(frame);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return SendStatus.NotConnected;
        }
        finally
        {
            Monitor.Exit(_sendLock);
        }
    }

    // Managed sockets send synchronously in the caller: the ValueTask is always complete.
    public ValueTask<SendStatus> TrySendAsync(FrameSegments frame, CancellationToken cancellationToken = default)
    {
        CheckLength(frame.Length);
        if (_closed)
            return new ValueTask<SendStatus>(SendStatus.NotConnected);
        lock (_sendLock)
            return new ValueTask<SendStatus>(SendLocked(frame));
    }

    private void CheckLength(long length)
    {
        if (length > _maxFrameBytes)
            throw new ArgumentException($"frame of {length} bytes exceeds the {_maxFrameBytes}-byte limit of {RemoteName}");
    }

    private SendStatus SendLocked(in FrameSegments frame)
    {
        if (_closed || _sendBuffer is null)
            return SendStatus.NotConnected;
        try
        {
            long length = frame.Length;
            Span<byte> buffer = _sendBuffer.Span;
            BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)length);
            if (length <= CoalesceLimit)
            {
                frame.CopyTo(buffer[PrefixBytes..]);
                SendAll(buffer[..(PrefixBytes + (int)length)]);
            }
            else
            {
                SendAll(buffer[..PrefixBytes]);
                for (int i = 0; i < frame.Count; i++)
                    SendAll(frame[i].Span);
            }
            return SendStatus.Sent;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Fail(e);
            return SendStatus.NotConnected;
        }
    }

    private void SendAll(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            int sent = _socket.Send(data, SocketFlags.None);
            data = data[sent..];
        }
    }

    private void ReceiveLoop()
    {
        PinnedBuffer pinned = FrameBufferPool.Shared.Rent(InitialReceiveBytes);
        byte[] buffer = pinned.Array;
        int filled = 0;
        int needed = 0;
        Exception? error = null;
        try
        {
            while (true)
            {
                // While a large frame is incomplete, read only up to its end, and otherwise at
                // most 64 KiB: bytes of the frame after would have to be moved to the front of
                // the buffer once this one is delivered. Reading as much as the buffer took moved
                // 26-33% of the bytes of dense 1 M- and 16 M-float pushes a second time.
                int window = needed > CoalesceLimit ? needed - filled : Math.Min(buffer.Length - filled, CoalesceLimit);
                int read = _socket.Receive(buffer.AsSpan(filled, window), SocketFlags.None);
                if (read == 0)
                    break;
                filled += read;
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
            if (filled > 0 && !_closed)
                error = new ConnectionClosedException($"{RemoteName} closed the connection in the middle of a frame ({filled} bytes of it received)");
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            if (!_closed)
                error = new ConnectionClosedException($"connection to {RemoteName} lost: {e.Message}", e);
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
        return offset;
    }

    private void Fail(Exception e) => Close(new ConnectionClosedException($"connection to {RemoteName} failed: {e.Message}", e));

    private void Close(Exception? error)
    {
        if (_closed && _completion.Task.IsCompleted)
            return;
        _closed = true;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone: nothing to shut down.
        }
        _socket.Dispose();
        if (error is null ? _completion.TrySetResult() : _completion.TrySetException(error))
            _handler?.OnClosed(this, error);
    }

    public ValueTask DisposeAsync()
    {
        Close(null);
        lock (_sendLock)
        {
            _sendBuffer?.Dispose();
            _sendBuffer = null;
        }
        return ValueTask.CompletedTask;
    }
}
