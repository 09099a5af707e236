using System.Threading.Channels;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.InProc;

/// <summary>One end of an in-process connection; see <see cref="InProcTransport"/>.</summary>
internal sealed class InProcConnection : IConnection, IBufferHandOff
{
    // The frames sent to this end, waiting for its receive thread. A plain queue under a lock
    // with Monitor.Wait: a channel's WaitToReadAsync allocates a task per wait, this nothing once
    // the queue has grown to the traffic's depth. Unbounded: an in-process peer is never slow
    // for long, and a bound would let two nodes that reply from their receive threads deadlock.
    // Owned: a buffer handed off by the peer (IBufferHandOff), which goes back to its own pool
    // after handling; the others are this end's spares (below).
    private readonly Queue<(PinnedBuffer Buffer, int Length, bool Owned)> _inbox = new();
    private readonly object _inboxLock = new();
    private bool _inboxClosed;
    private bool _receiverWaiting;
    // Buffers this end has delivered and got back, by size class, for the peer's next frames:
    // the shared pool keeps 16 per class, but a burst queues thousands, so without these a
    // burst after warm-up allocates again. Up to SpareLimitBytes stay here.
    private readonly Stack<PinnedBuffer>[] _spare = [.. Enumerable.Range(0, 31).Select(_ => new Stack<PinnedBuffer>())];
    private long _spareBytes;
    private const long SpareLimitBytes = 256L << 20;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private InProcConnection _peer = null!;
    private IFrameHandler? _handler;
    private volatile bool _closed;

    private InProcConnection(string remoteName) => RemoteName = remoteName;

    public static (InProcConnection Client, InProcConnection Server) CreatePair(string serverName, string clientName)
    {
        var client = new InProcConnection(serverName);
        var server = new InProcConnection(clientName);
        client._peer = server;
        server._peer = client;
        client.HandshakeChannel = new PairChannel(client);
        server.HandshakeChannel = new PairChannel(server);
        return (client, server);
    }

    public string RemoteName { get; }

    public bool IsConnected => !_closed;

    public Task Completion => _completion.Task;

    internal IHandshakeChannel HandshakeChannel { get; private set; } = null!;

    public void Start(IFrameHandler handler)
    {
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
            throw new InvalidOperationException($"connection to {RemoteName} already started");
        var thread = new Thread(ReceiveLoop) { IsBackground = true, Name = $"psf-inproc-recv {RemoteName}" };
        thread.Start();
    }

    public ValueTask SendAsync(FrameSegments frame, CancellationToken cancellationToken = default) =>
        SendResults.ThrowIfNotSent(this, TrySendAsync(frame, cancellationToken));

    /// <summary>Never back-pressured: the peer's inbox is unbounded (see the field).</summary>
    public SendStatus TrySend(FrameSegments frame)
    {
        if (_closed || _peer._closed)
            return SendStatus.NotConnected;
        int length = checked((int)frame.Length);
        PinnedBuffer buffer = _peer.RentSpare(length);
        frame.CopyTo(buffer.Span);
        if (!_peer.Deliver(buffer, length, owned: false))
        {
            buffer.Dispose();
            return SendStatus.NotConnected;
        }
        return SendStatus.Sent;
    }

    /// <summary>The zero-copy path: the sender's frame buffer itself goes to the peer's receive thread.</summary>
    public SendStatus HandOff(PinnedBuffer buffer, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, buffer.Capacity);
        if (_closed || _peer._closed || !_peer.Deliver(buffer, length, owned: true))
        {
            buffer.Dispose();
            return SendStatus.NotConnected;
        }
        return SendStatus.Sent;
    }

    public ValueTask<SendStatus> TrySendAsync(FrameSegments frame, CancellationToken cancellationToken = default) =>
        new(TrySend(frame));

    private bool Deliver(PinnedBuffer buffer, int length, bool owned)
    {
        lock (_inboxLock)
        {
            if (_inboxClosed)
                return false;
            _inbox.Enqueue((buffer, length, owned));
            if (_receiverWaiting)
                Monitor.Pulse(_inboxLock);
        }
        return true;
    }

    private PinnedBuffer RentSpare(int length)
    {
        int sizeClass = SizeClass(length);
        lock (_inboxLock)
        {
            if (_spare[sizeClass].TryPop(out PinnedBuffer? buffer))
            {
                _spareBytes -= buffer.Capacity;
                return buffer;
            }
        }
        return FrameBufferPool.Shared.Rent(length);
    }

    private void ReturnSpare(PinnedBuffer buffer)
    {
        lock (_inboxLock)
        {
            if (_spareBytes + buffer.Capacity <= SpareLimitBytes)
            {
                _spare[SizeClass(buffer.Capacity)].Push(buffer);
                _spareBytes += buffer.Capacity;
                return;
            }
        }
        buffer.Dispose();
    }

    // Power-of-two classes as the pool's (a buffer of capacity 2^k serves lengths up to 2^k).
    private static int SizeClass(int length) => length <= 4096 ? 12 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)length - 1);

    // False once the inbox is closed and empty.
    private bool TakeNext(out (PinnedBuffer Buffer, int Length, bool Owned) item)
    {
        lock (_inboxLock)
        {
            while (_inbox.Count == 0)
            {
                if (_inboxClosed)
                {
                    item = default;
                    return false;
                }
                _receiverWaiting = true;
                Monitor.Wait(_inboxLock);
                _receiverWaiting = false;
            }
            item = _inbox.Dequeue();
            return true;
        }
    }

    private void CloseInbox()
    {
        lock (_inboxLock)
        {
            _inboxClosed = true;
            Monitor.PulseAll(_inboxLock);
        }
    }

    private void ReceiveLoop()
    {
        Exception? error = null;
        try
        {
            while (TakeNext(out (PinnedBuffer Buffer, int Length, bool Owned) item))
            {
                try
                {
                    _handler!.OnFrame(this, item.Buffer.Span[..item.Length]);
                }
                finally
                {
                    if (item.Owned)
                        item.Buffer.Dispose();
                    else
                        ReturnSpare(item.Buffer);
                }
            }
        }
        catch (Exception e)
        {
            // A handler that throws: this connection ends, the process does not.
            error = e;
        }
        Finish(error);
    }

    private void Finish(Exception? error)
    {
        _closed = true;
        if (error is null ? _completion.TrySetResult() : _completion.TrySetException(error))
            _handler?.OnClosed(this, error);
    }

    public ValueTask DisposeAsync()
    {
        if (_closed)
            return ValueTask.CompletedTask;
        _closed = true;
        CloseInbox();
        _peer.CloseInbox();
        _peer._handshake.Writer.TryComplete();
        _handshake.Writer.TryComplete();
        if (_handler is null)
            Finish(null);
        return ValueTask.CompletedTask;
    }

    // The handshake's bytes travel on their own channel, before frames.
    private readonly Channel<byte[]> _handshake = Channel.CreateUnbounded<byte[]>();
    private byte[] _pending = [];
    private int _pendingOffset;

    private sealed class PairChannel(InProcConnection owner) : IHandshakeChannel
    {
        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
            owner._peer._handshake.Writer.TryWrite(data.ToArray())
                ? ValueTask.CompletedTask
                : ValueTask.FromException(new ConnectionClosedException("peer closed during the handshake"));

        public async ValueTask ReadExactAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            int filled = 0;
            while (filled < buffer.Length)
            {
                if (owner._pendingOffset >= owner._pending.Length)
                {
                    try
                    {
                        owner._pending = await owner._handshake.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (ChannelClosedException)
                    {
                        throw new ConnectionClosedException("peer closed during the handshake");
                    }
                    owner._pendingOffset = 0;
                }
                int n = Math.Min(buffer.Length - filled, owner._pending.Length - owner._pendingOffset);
                owner._pending.AsSpan(owner._pendingOffset, n).CopyTo(buffer.Span[filled..]);
                owner._pendingOffset += n;
                filled += n;
            }
        }
    }
}
