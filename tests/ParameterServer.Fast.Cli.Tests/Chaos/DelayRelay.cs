using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// A TCP relay that delays every byte by a fixed time each way: link delay for kernels without
/// tc netem. It listens at one address and joins each connection it accepts to a new connection
/// to the target; sockets come from a factory, so a relay can sit inside a network namespace
/// (<see cref="NetworkNamespace.SocketFactory"/>) while its threads stay in the test process.
/// </summary>
/// <remarks>
/// Why a relay: this kernel has no sch_netem, and none of the qdiscs it has holds a packet for a
/// fixed time (tbf and htb shape rate, pfifo only queues), nor can nftables queue packets to user
/// space (no NFQUEUE). A TUN device in each namespace would delay packets too, but it needs
/// routing and a packet pump per node. The relay delays the byte stream rather than packets: the
/// two ends see the delay in every round trip (the part a parameter server feels), while TCP's
/// own ACKs between each end and the relay are not delayed.
/// </remarks>
internal sealed class DelayRelay : IDisposable
{
    // A target that accepts nothing within 5 s is treated as down: the client is reset.
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly Func<Socket> _sockets;
    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<RelayedConnection, Task> _connections = new();
    private readonly Task _accepting;
    private long _bytes;
    private int _accepted;

    private DelayRelay(Func<Socket> sockets, Socket listener, IPEndPoint target, TimeSpan delay)
    {
        _sockets = sockets;
        _listener = listener;
        _target = target;
        Delay = delay;
        _accepting = AcceptLoopAsync();
    }

    /// <summary>The delay added in each direction.</summary>
    public TimeSpan Delay { get; }

    /// <summary>Where the relay listens (the port is the one bound, when 0 was asked).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>Bytes passed on so far, both directions together.</summary>
    public long BytesRelayed => Interlocked.Read(ref _bytes);

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _accepted);

    /// <summary>Listens at <paramref name="listenAt"/> and relays to <paramref name="target"/>, <paramref name="delay"/> each way.</summary>
    public static DelayRelay Start(Func<Socket> sockets, IPEndPoint listenAt, IPEndPoint target, TimeSpan delay)
    {
        Socket listener = sockets();
        try
        {
            listener.Bind(listenAt);
            listener.Listen(64);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        return new DelayRelay(sockets, listener, target, delay);
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                Socket client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _accepted);
                _ = Task.Run(() => ServeAsync(client));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Disposed.
        }
    }

    private async Task ServeAsync(Socket client)
    {
        Socket target;
        try
        {
            target = _sockets();
        }
        catch (InvalidOperationException)
        {
            client.Dispose();
            return;
        }
        // No Nagle on the relay's own sockets: it would hold small messages back on top of the delay.
        client.NoDelay = true;
        target.NoDelay = true;
        var connection = new RelayedConnection(client, target);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(ConnectTimeout);
            await target.ConnectAsync(_target, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The target is down: the client is reset, as a dead host's port would refuse it.
            connection.Abort();
            return;
        }
        Task running = connection.RunAsync(Delay, n => Interlocked.Add(ref _bytes, n));
        _connections[connection] = running;
        if (_stop.IsCancellationRequested)
            connection.Abort();
        await running.ConfigureAwait(false);
        _connections.TryRemove(connection, out _);
    }

    /// <summary>Stops listening and resets every connection still open.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (RelayedConnection connection in _connections.Keys)
            connection.Abort();
        // Aborted sockets end their loops at once; 5 s only bounds a wedged one.
        Task.WhenAll([_accepting, .. _connections.Values]).Wait(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
