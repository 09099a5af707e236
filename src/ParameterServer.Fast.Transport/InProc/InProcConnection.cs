using System.Threading.Channels;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.InProc;

/// <summary>One end of an in-process connection; see <see cref="InProcTransport"/>.</summary>
internal sealed class InProcConnection : IConnection
{
    private readonly Channel<(PinnedBuffer Buffer, int Length)> _inbox = Channel.CreateUnbounded<(PinnedBuffer, int)>(
        new UnboundedChannelOptions { SingleReader = true });
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

    public ValueTask SendAsync(FrameSegments frame, CancellationToken cancellationToken = default)
    {
        if (_closed || _peer._closed)
            return ValueTask.FromException(new ConnectionClosedException($"connection to {RemoteName} is closed"));
        int length = checked((int)frame.Length);
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(length);
        frame.CopyTo(buffer.Span);
        if (!_peer._inbox.Writer.TryWrite((buffer, length)))
        {
            buffer.Dispose();
            return ValueTask.FromException(new ConnectionClosedException($"connection to {RemoteName} is closed"));
        }
        return ValueTask.CompletedTask;
    }

    private void ReceiveLoop()
    {
        Exception? error = null;
        try
        {
            ChannelReader<(PinnedBuffer Buffer, int Length)> reader = _inbox.Reader;
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (reader.TryRead(out (PinnedBuffer Buffer, int Length) item))
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
        }
        catch (Exception e)
        {
            error = e is ChannelClosedException { InnerException: { } inner } ? inner : e;
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
        _inbox.Writer.TryComplete();
        _peer._inbox.Writer.TryComplete();
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
