using System.Threading.Channels;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.InProc;

/// <summary>One end of an in-process connection; see <see cref="InProcTransport"/>.</summary>
internal sealed class InProcConnection : IConnection
{
    // The frames sent to this end, waiting for its receive thread. A plain queue under a lock
    // with Monitor.Wait: a channel's WaitToReadAsync allocates a task per wait, this nothing once
    // the queue has grown to the traffic's depth. Unbounded: an in-process peer is never slow
    // for long, and a bound would let two nodes that reply from their receive threads deadlock.
    private readonly Queue<(PinnedBuffer Buffer, int Length)> _inbox = new();
    private readonly object _inboxLock = new();
    private bool _inboxClosed;
    private bool _receiverWaiting;
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
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(length);
        frame.CopyTo(buffer.Span);
        if (!_peer.Deliver(buffer, length))
        {
            buffer.Dispose();
            return SendStatus.NotConnected;
        }
        return SendStatus.Sent;
    }

    public ValueTask<SendStatus> TrySendAsync(FrameSegments frame, CancellationToken cancellationToken = default) =>
        new(TrySend(frame));

    private bool Deliver(PinnedBuffer buffer, int length)
    {
        lock (_inboxLock)
        {
            if (_inboxClosed)
                return false;
            _inbox.Enqueue((buffer, length));
            if (_receiverWaiting)
                Monitor.Pulse(_inboxLock);
        }
        return true;
    }

    // False once the inbox is closed and empty.
    private bool TakeNext(out (PinnedBuffer Buffer, int Length) item)
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
            while (TakeNext(out (PinnedBuffer Buffer, int Length) item))
            {
                try
                {
                    _handler!.OnFrame(this, item.Buffer.Span[..item.Length]);
                }
                finally
                {
                    item.Buffer.Dispose();
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
