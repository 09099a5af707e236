using System.Net;
using System.Net.Sockets;

namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// A TCP listener that writes back whatever it reads, one connection at a time, until disposed:
/// the far end of <see cref="RoundTripProbe"/> and of the relay's tests.
/// </summary>
internal sealed class EchoListener : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    private EchoListener(Socket listener)
    {
        _listener = listener;
        _serving = ServeAsync();
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public static EchoListener Start(Func<Socket> sockets, IPEndPoint listenAt)
    {
        Socket listener = sockets();
        listener.Bind(listenAt);
        listener.Listen(8);
        return new EchoListener(listener);
    }

    private async Task ServeAsync()
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                using Socket client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
                client.NoDelay = true;
                try
                {
                    for (int read; (read = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false)) > 0;)
                        await client.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                }
                catch (SocketException)
                {
                    // That client reset; serve the next.
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Disposed.
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        _serving.Wait(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
