using System.Buffers.Binary;
using System.Net.Sockets;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>
/// Frames over a stream ([u32 length][payload], as <see cref="TcpConnection"/>), used for TLS: the
/// encryption happens in the stream, so frames are written and read through it. Sends take turns
/// under a lock; one thread reads and hands each complete frame to the handler in place.
/// </summary>
internal sealed class StreamConnection : IConnection
{
    private const int PrefixBytes = 4;
    private const int InitialReceiveBytes = 256 * 1024;

    private readonly Stream _stream;
    private readonly Socket _socket; // under _stream; only polled for room
    private readonly int _maxFrameBytes;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly byte[] _prefix = new byte[PrefixBytes];
    private IFrameHandler? _handler;
    private volatile bool _closed;

    public StreamConnection(Stream stream, Socket socket, string remoteName, int maxFrameBytes)
    {
        _stream = stream;
        _socket = socket;
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
        _ = Task.Run(ReceiveLoop);
    }

    public ValueTask SendAsync(FrameSegments frame, CancellationToken cancellationToken = default) =>
        SendResults.ThrowIfNotSent(this, TrySendAsync(frame, cancellationToken));

    public SendStatus TrySend(FrameSegments frame)
    {
        CheckLength(frame.Length);
        if (_closed)
            return SendStatus.NotConnected;
        if (!_sendLock.Wait(0))
            return SendStatus.BackPressured;
        try
        {
            // Writable: the kernel takes the encrypted record at once (the rest of one larger
            // than the free space is waited for); not writable: nothing is encrypted or sent.
            if (!_socket.Poll(0, SelectMode.SelectWrite))
                return _closed ? SendStatus.NotConnected : SendStatus.BackPressured;
            return WriteFrame(frame);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            Close(new ConnectionClosedException($"connection to {RemoteName} failed: {e.Message}", e));
            return SendStatus.NotConnected;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async ValueTask<SendStatus> TrySendAsync(FrameSegments frame, CancellationToken cancellationToken = default)
    {
        CheckLength(frame.Length);
        if (_closed)
            return SendStatus.NotConnected;
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_closed)
                return SendStatus.NotConnected;
            BinaryPrimitives.WriteUInt32LittleEndian(_prefix, (uint)frame.Length);
            await _stream.WriteAsync(_prefix, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < frame.Count; i++)
                await _stream.WriteAsync(frame[i], cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            return SendStatus.Sent;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Close(new ConnectionClosedException($"connection to {RemoteName} failed: {e.Message}", e));
            return SendStatus.NotConnected;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private SendStatus WriteFrame(in FrameSegments frame)
    {
        if (_closed)
            return SendStatus.NotConnected;
        BinaryPrimitives.WriteUInt32LittleEndian(_prefix, (uint)frame.Length);
        _stream.Write(_prefix);
        for (int i = 0; i < frame.Count; i++)
            _stream.Write(frame[i].Span);
        _stream.Flush();
        return SendStatus.Sent;
    }

    private void CheckLength(long length)
    {
        if (length > _maxFrameBytes)
            throw new ArgumentException($"frame of {length} bytes exceeds the {_maxFrameBytes}-byte limit of {RemoteName}");
    }

    private async Task ReceiveLoop()
    {
        PinnedBuffer pinned = FrameBufferPool.Shared.Rent(InitialReceiveBytes);
        byte[] buffer = pinned.Array;
        Exception? error = null;
        try
        {
            while (true)
            {
                if (!await ReadExactly(buffer.AsMemory(0, PrefixBytes)).ConfigureAwait(false))
                    break;
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
                if (length > (uint)_maxFrameBytes)
                    throw new InvalidDataException($"{RemoteName} announced a frame of {length} bytes; the limit is {_maxFrameBytes}");
                if (length > buffer.Length)
                {
                    pinned.Dispose();
                    pinned = FrameBufferPool.Shared.Rent(length);
                    buffer = pinned.Array;
                }
                if (!await ReadExactly(buffer.AsMemory(0, (int)length)).ConfigureAwait(false))
                    throw new ConnectionClosedException($"{RemoteName} closed the connection in the middle of a frame");
                _handler!.OnFrame(this, buffer.AsSpan(0, (int)length));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            if (!_closed)
                error = new ConnectionClosedException($"connection to {RemoteName} lost: {e.Message}", e);
        }
        catch (Exception e)
        {
            error = e;
        }
        finally
        {
            pinned.Dispose();
        }
        Close(error);
    }

    // False at a clean end of stream before the first byte; throws when it ends part-way.
    private async ValueTask<bool> ReadExactly(Memory<byte> destination)
    {
        int read = 0;
        while (read < destination.Length)
        {
            int n = await _stream.ReadAsync(destination[read..]).ConfigureAwait(false);
            if (n == 0)
            {
                if (read == 0)
                    return false;
                throw new ConnectionClosedException($"{RemoteName} closed the connection part-way through a frame");
            }
            read += n;
        }
        return true;
    }

    private void Close(Exception? error)
    {
        if (_completion.Task.IsCompleted)
            return;
        _closed = true;
        _stream.Dispose();
        if (error is null ? _completion.TrySetResult() : _completion.TrySetException(error))
            _handler?.OnClosed(this, error);
    }

    public ValueTask DisposeAsync()
    {
        Close(null);
        return ValueTask.CompletedTask;
    }
}
