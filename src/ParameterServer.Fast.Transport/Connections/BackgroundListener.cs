using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Core.Interop;

namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// A listener that accepts in the background and sets each new connection up (handshake, and
/// for shared memory the segment) on its own, so a peer that stalls or sends garbage delays
/// nobody else; only connections that proved the cluster secret reach <see cref="AcceptAsync"/>.
/// A peer that fails is refused, logged with its address, and the listener carries on. The
/// derived class owns the accepting itself (a managed socket, a native listener).
/// </summary>
internal abstract class BackgroundListener : IListener
{
    private readonly ILogger _logger;
    private readonly Channel<IConnection> _accepted = Channel.CreateUnbounded<IConnection>();

    protected BackgroundListener(Endpoint local, ILogger logger)
    {
        _logger = logger;
        LocalEndpoint = local;
    }

    public Endpoint LocalEndpoint { get; }

    protected CancellationTokenSource Stop { get; } = new();

    public ValueTask<IConnection> AcceptAsync(CancellationToken cancellationToken = default) => _accepted.Reader.ReadAsync(cancellationToken);

    /// <summary>Sets <paramref name="pending"/> up on the thread pool; disposes it if that fails.</summary>
    protected void Offer<T>(T pending, Func<T, Task<IConnection>> setUp)
        where T : IDisposable => _ = Task.Run(async () =>
    {
        try
        {
            IConnection connection = await setUp(pending).ConfigureAwait(false);
            if (!_accepted.Writer.TryWrite(connection))
                await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or System.Net.Sockets.SocketException or OperationCanceledException
            or ObjectDisposedException or NativeException or System.Security.Authentication.AuthenticationException)
        {
            _logger.LogWarning("{Message}", e.Message);
            pending.Dispose();
        }
        catch (Exception e)
        {
            // A bug, not a peer's doing: still only this connection fails, but say so loudly.
            _logger.LogError(e, "setting up a connection on {Listener} failed", LocalEndpoint);
            pending.Dispose();
        }
    });

    /// <summary>Accepting ended: AcceptAsync fails from now on.</summary>
    protected void Stopped() =>
        _accepted.Writer.TryComplete(new ConnectionClosedException($"listener on {LocalEndpoint} stopped"));

    /// <summary>Stops accepting and frees what accepts (the socket, the native listener).</summary>
    protected abstract void StopAccepting();

    public ValueTask DisposeAsync()
    {
        Stop.Cancel();
        StopAccepting();
        _accepted.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}
