using System.Net.Sockets;

namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// One connection through a <see cref="DelayRelay"/>: the accepted socket and the one to the
/// target, joined by a <see cref="DelayedDirection"/> each way. A FIN is passed on (delayed, after
/// the bytes before it) and the connection is closed once both directions ended. A reset or any
/// failure of either socket resets both at once and drops what was queued, as a TCP reset discards
/// what the receiver has not read: a peer killed with SIGKILL is seen dead through the relay
/// without waiting for the delay or for heartbeats.
/// </summary>
internal sealed class RelayedConnection
{
    private readonly Socket _client;
    private readonly Socket _target;
    private readonly CancellationTokenSource _stop = new();
    private int _aborted;

    public RelayedConnection(Socket client, Socket target)
    {
        _client = client;
        _target = target;
    }

    /// <summary>Relays until both directions ended or the connection was reset; never throws.</summary>
    public async Task RunAsync(TimeSpan delay, Action<int> relayed)
    {
        var up = new DelayedDirection(_client, _target, delay, relayed);
        var down = new DelayedDirection(_target, _client, delay, relayed);
        Task[] parts = [Guard(up.ReadAsync), Guard(up.WriteAsync), Guard(down.ReadAsync), Guard(down.WriteAsync)];
        await Task.WhenAll(parts).ConfigureAwait(false);
        // The token source is not disposed: the relay may still abort a connection that has just
        // ended, and one without timers holds nothing to free.
        _client.Dispose();
        _target.Dispose();
    }

    /// <summary>Resets both ends now (SO_LINGER 0: close sends RST) and stops relaying.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
            return;
        foreach (Socket socket in (Socket[])[_client, _target])
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already closed: nothing left to reset.
            }
            socket.Dispose();
        }
        _stop.Cancel();
    }

    private async Task Guard(Func<CancellationToken, Task> part)
    {
        try
        {
            await part(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            Abort();
        }
    }
}
