using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Core.Interop;

namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// A listener that accepts sockets in the background and sets each one up (handshake, and for
/// shared memory the segment) on its own, so a peer that stalls or sends garbage delays nobody
/// else; only connections that proved the cluster secret reach <see cref="AcceptAsync"/>. A peer
/// that fails is refused, logged with its address, and the listener carries on.
/// </summary>
internal abstract class SocketListener : IListener
{
    private readonly Socket _socket;
    private readonly ILogger _logger;
    private readonly Channel<IConnection> _accepted = Channel.CreateUnbounded<IConnection>();

    protected SocketListener(Socket socket, Endpoint local, ILogger logger)
    {
        _socket = socket;
        _logger = logger;
        LocalEndpoint = local;
    }

    public Endpoint LocalEndpoint { get; }

    protected CancellationTokenSource Stop { get; } = new();

    public ValueTask<IConnection> AcceptAsync(CancellationToken cancellationToken = default) => _accepted.Reader.ReadAsync(cancellationToken);

    /// <summary>Starts accepting (called by the derived constructor once it is ready).</summary>
    protected void Start() => _ = Task.Run(AcceptLoop);

    /// <summary>Turns an accepted socket into an authenticated connection, or throws why not.</summary>
    protected abstract Task<IConnection> SetUpAsync(Socket accepted);

    private async Task AcceptLoop()
    {
        try
        {
            while (!Stop.IsCancellationRequested)
            {
                Socket accepted = await _socket.AcceptAsync(Stop.Token).ConfigureAwait(false);
                _ = Task.Run(() => Offer(accepted));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            _accepted.Writer.TryComplete(new ConnectionClosedException($"listener on {LocalEndpoint} stopped"));
        }
    }

    private async Task Offer(Socket accepted)
    {
        try
        {
            IConnection connection = await SetUpAsync(accepted).ConfigureAwait(false);
            if (!_accepted.Writer.TryWrite(connection))
                await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException or OperationCanceledException
            or ObjectDisposedException or NativeException or System.Security.Authentication.AuthenticationException)
        {
            _logger.LogWarning("{Message}", e.Message);
            accepted.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Stop.Cancel();
        _socket.Dispose();
        _accepted.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}
