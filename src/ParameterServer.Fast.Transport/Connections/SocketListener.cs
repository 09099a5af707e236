using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace ParameterServer.Fast.Transport.Connections;

/// <summary>A <see cref="BackgroundListener"/> on a managed socket (TCP, or shared memory's Unix rendezvous socket).</summary>
internal abstract class SocketListener : BackgroundListener
{
    private readonly Socket _socket;

    protected SocketListener(Socket socket, Endpoint local, ILogger logger) : base(local, logger) => _socket = socket;

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
                Offer(accepted, SetUpAsync);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            Stopped();
        }
    }

    protected override void StopAccepting() => _socket.Dispose();
}
