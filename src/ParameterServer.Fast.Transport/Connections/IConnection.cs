namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// Receives the frames of a connection. Called on the connection's receive thread, one frame at
/// a time and in order; the span is valid only during the call (it may point into a socket
/// buffer or a shared-memory ring), so a handler that keeps a frame copies it. A handler that
/// lends the thread to user code (<see cref="ReceiveThread.TryLend"/>) is done with the frame
/// from then on: the next calls may come on another thread before this one returns.
/// </summary>
public interface IFrameHandler
{
    void OnFrame(IConnection connection, ReadOnlySpan<byte> frame);

    /// <summary>The connection ended: <paramref name="error"/> is null after an orderly close.</summary>
    void OnClosed(IConnection connection, Exception? error);
}

/// <summary>
/// A two-way, authenticated, ordered stream of frames to one peer. Sends may come from many
/// threads at once (each frame goes out whole); receiving starts with <see cref="Start"/>.
/// </summary>
public interface IConnection : IAsyncDisposable
{
    /// <summary>The peer, for messages and logs ("tcp://127.0.0.1:53412", "inproc://server-0").</summary>
    string RemoteName { get; }

    bool IsConnected { get; }

    /// <summary>Begins delivering received frames to <paramref name="handler"/>.</summary>
    void Start(IFrameHandler handler);

    /// <summary>
    /// Sends one frame. Completes when the frame has been handed to the transport (the segments
    /// may be reused then). Throws <see cref="ConnectionClosedException"/> when the peer is gone.
    /// The same as <see cref="TrySendAsync"/> with <see cref="SendStatus.NotConnected"/> thrown.
    /// </summary>
    ValueTask SendAsync(FrameSegments frame, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends one frame if the transport can start it now, never waiting to start: a full ring or
    /// socket buffer, no RDMA credit or another sender mid-frame give
    /// <see cref="SendStatus.BackPressured"/> with nothing sent; a closed connection gives
    /// <see cref="SendStatus.NotConnected"/>. A frame that fits the transport's free room (a shm
    /// record up to half a ring, a socket's free send space, RDMA credits) goes out without any
    /// wait; a larger one, once started, is finished by waiting for room, since a stream cannot
    /// take back half a frame.
    /// </summary>
    /// <remarks>
    /// Every transport here implements it; the default serves implementations written before
    /// the status API (test doubles), which cannot try without waiting: while connected it
    /// reports back-pressure, and the caller falls back to <see cref="TrySendAsync"/>.
    /// </remarks>
    SendStatus TrySend(FrameSegments frame) => IsConnected ? SendStatus.BackPressured : SendStatus.NotConnected;

    /// <summary>
    /// Sends one frame, waiting for room while the peer lives: <see cref="SendStatus.Sent"/> or
    /// <see cref="SendStatus.NotConnected"/>, never an exception for a closed peer (cancellation
    /// still throws <see cref="OperationCanceledException"/>). Completes synchronously and
    /// without allocating when the frame goes out at once.
    /// </summary>
    async ValueTask<SendStatus> TrySendAsync(FrameSegments frame, CancellationToken cancellationToken = default)
    {
        // Every transport here overrides this; the default serves implementations written
        // before the status API (test doubles), mapping their exception to the status.
        try
        {
            await SendAsync(frame, cancellationToken).ConfigureAwait(false);
            return SendStatus.Sent;
        }
        catch (ConnectionClosedException)
        {
            return SendStatus.NotConnected;
        }
    }

    /// <summary>Completes when the connection has ended, with the reason when it failed.</summary>
    Task Completion { get; }
}

/// <summary>Accepts connections on one endpoint.</summary>
public interface IListener : IAsyncDisposable
{
    /// <summary>The endpoint actually bound (port 0 replaced by the one chosen).</summary>
    Endpoint LocalEndpoint { get; }

    ValueTask<IConnection> AcceptAsync(CancellationToken cancellationToken = default);
}

/// <summary>One kind of transport: makes listeners and outgoing connections.</summary>
public interface ITransport
{
    TransportKind Kind { get; }

    IListener Listen(Endpoint endpoint);

    ValueTask<IConnection> ConnectAsync(Endpoint endpoint, CancellationToken cancellationToken = default);
}

/// <summary>The peer closed or died; nothing more can be sent on this connection.</summary>
public sealed class ConnectionClosedException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>The peer failed authentication or broke the transport's own protocol.</summary>
public sealed class AuthenticationException(string message) : IOException(message);
