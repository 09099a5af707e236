using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>The delaying relay of the chaos tests, on loopback: no namespaces needed.</summary>
public sealed class DelayRelayTests
{
    // 20 ms: far above loopback's tens of microseconds and a timer's millisecond steps, so a
    // relay that forgot to wait would be caught, yet short enough to keep each test well under 1 s.
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly IPEndPoint AnyLoopbackPort = new(IPAddress.Loopback, 0);

    [Test, CancelAfter(30_000)]
    public async Task BytesArriveIntactAndInOrderBothWays()
    {
        using var echo = EchoListener.Start(NetworkNamespace.CreateLocalTcpSocket, AnyLoopbackPort);
        using var relay = DelayRelay.Start(NetworkNamespace.CreateLocalTcpSocket, AnyLoopbackPort, echo.LocalEndPoint, TimeSpan.FromMilliseconds(2));
        using var cts = new CancellationTokenSource(Timeout);
        using Socket client = NetworkNamespace.CreateLocalTcpSocket();
        await client.ConnectAsync(relay.LocalEndPoint, cts.Token);
        // 1 MiB in writes of 1 byte to 100 KiB, so chunks split and join differently on each hop.
        byte[] sent = new byte[1 << 20];
        var random = new Random(7);
        random.NextBytes(sent);
        Task sending = Task.Run(async () =>
        {
            for (int at = 0; at < sent.Length;)
            {
                int n = Math.Min(sent.Length - at, random.Next(1, 100_000));
                at += await client.SendAsync(sent.AsMemory(at, n), SocketFlags.None, cts.Token);
            }
        });
        byte[] received = new byte[sent.Length];
        for (int at = 0; at < received.Length;)
        {
            int read = await client.ReceiveAsync(received.AsMemory(at), SocketFlags.None, cts.Token);
            Assert.That(read, Is.GreaterThan(0), $"the relay closed after {at} bytes");
            at += read;
        }
        await sending;
        Assert.That(received, Is.EqualTo(sent));
        Assert.That(relay.BytesRelayed, Is.EqualTo(2L * sent.Length));
    }

    [Test, CancelAfter(30_000)]
    public async Task NoByteArrivesBeforeTheDelay()
    {
        using var relayed = new RelayedTarget();
        using Ends ends = await relayed.ConnectAsync();
        (Socket client, Socket far) = (ends.Client, ends.Far);
        byte[] one = new byte[1];
        for (int i = 0; i < 5; i++)
        {
            long sentAt = Stopwatch.GetTimestamp();
            await client.SendAsync(one, SocketFlags.None);
            using var cts = new CancellationTokenSource(Timeout);
            Assert.That(await far.ReceiveAsync(one, SocketFlags.None, cts.Token), Is.EqualTo(1));
            Assert.That(Stopwatch.GetElapsedTime(sentAt), Is.GreaterThanOrEqualTo(Delay), "forward");
            sentAt = Stopwatch.GetTimestamp();
            await far.SendAsync(one, SocketFlags.None);
            Assert.That(await client.ReceiveAsync(one, SocketFlags.None, cts.Token), Is.EqualTo(1));
            Assert.That(Stopwatch.GetElapsedTime(sentAt), Is.GreaterThanOrEqualTo(Delay), "back");
        }
    }

    [Test, CancelAfter(30_000)]
    public async Task ARoundTripThroughTheRelayTakesTwiceTheDelayMore()
    {
        using var echo = EchoListener.Start(NetworkNamespace.CreateLocalTcpSocket, AnyLoopbackPort);
        using var relay = DelayRelay.Start(NetworkNamespace.CreateLocalTcpSocket, AnyLoopbackPort, echo.LocalEndPoint, Delay);
        RoundTripProbe.Result direct = await RoundTripProbe.MeasureAsync(NetworkNamespace.CreateLocalTcpSocket, echo.LocalEndPoint, 10, Timeout);
        RoundTripProbe.Result relayed = await RoundTripProbe.MeasureAsync(NetworkNamespace.CreateLocalTcpSocket, relay.LocalEndPoint, 10, Timeout);
        TestContext.Out.WriteLine($"direct: {direct}; through the relay ({Delay.TotalMilliseconds} ms each way): {relayed}");
        Assert.That(relayed.Minimum, Is.GreaterThanOrEqualTo(2 * Delay));
        Assert.That(relayed.Minimum - direct.Minimum, Is.GreaterThanOrEqualTo(2 * Delay - TimeSpan.FromMilliseconds(1)));
    }

    [Test, CancelAfter(30_000)]
    public async Task AClosedSideClosesTheOtherSideAfterItsBytes()
    {
        using var relayed = new RelayedTarget();
        using Ends ends = await relayed.ConnectAsync();
        (Socket client, Socket far) = (ends.Client, ends.Far);
        using var cts = new CancellationTokenSource(Timeout);
        await client.SendAsync(new byte[] { 1, 2, 3 }, SocketFlags.None);
        client.Shutdown(SocketShutdown.Send);
        Assert.That(await ReadToEndAsync(far, cts.Token), Is.EqualTo(new byte[] { 1, 2, 3 }), "the bytes, then the end");
        // The other direction stays open until the far side closes it too.
        await far.SendAsync(new byte[] { 4 }, SocketFlags.None);
        far.Shutdown(SocketShutdown.Send);
        Assert.That(await ReadToEndAsync(client, cts.Token), Is.EqualTo(new byte[] { 4 }));
    }

    [Test, CancelAfter(30_000)]
    public async Task AResetOnEitherSideResetsTheOther()
    {
        using var relayed = new RelayedTarget();
        foreach (bool clientResets in (bool[])[true, false])
        {
            using Ends ends = await relayed.ConnectAsync();
            (Socket resetting, Socket other) = clientResets ? (ends.Client, ends.Far) : (ends.Far, ends.Client);
            resetting.LingerState = new LingerOption(true, 0);
            resetting.Close();
            using var cts = new CancellationTokenSource(Timeout);
            SocketException? e = await Assert.ThrowsAsync<SocketException>(async () => await other.ReceiveAsync(new byte[1], SocketFlags.None, cts.Token));
            Assert.That(e!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset), clientResets ? "client reset" : "target reset");
        }
    }

    [Test, CancelAfter(30_000)]
    public async Task AClientOfATargetThatIsDownIsResetAtOnce()
    {
        int freePort;
        using (Socket probe = Listen())
            freePort = ((IPEndPoint)probe.LocalEndPoint!).Port;
        using var relay = DelayRelay.Start(NetworkNamespace.CreateLocalTcpSocket, AnyLoopbackPort, new IPEndPoint(IPAddress.Loopback, freePort), Delay);
        using Socket client = NetworkNamespace.CreateLocalTcpSocket();
        using var cts = new CancellationTokenSource(Timeout);
        // The relay accepts, fails to reach the target and resets: seen by the connect itself
        // when the reset comes first, else by the first read.
        SocketException? e = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            await client.ConnectAsync(relay.LocalEndPoint, cts.Token);
            await client.ReceiveAsync(new byte[1], SocketFlags.None, cts.Token);
        });
        Assert.That(e!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
    }

    private static Socket Listen()
    {
        Socket listener = NetworkNamespace.CreateLocalTcpSocket();
        listener.Bind(AnyLoopbackPort);
        listener.Listen(8);
        return listener;
    }

    // The two ends of one connection through the relay, closed together.
    private sealed record Ends(Socket Client, Socket Far) : IDisposable
    {
        public void Dispose()
        {
            Client.Dispose();
            Far.Dispose();
        }
    }

    // A listener on loopback behind a relay of Delay each way.
    private sealed class RelayedTarget : IDisposable
    {
        private readonly Socket _target = Listen();
        private readonly DelayRelay _relay;

        public RelayedTarget() => _relay = DelayRelay.Start(NetworkNamespace.CreateLocalTcpSocket, AnyLoopbackPort, (IPEndPoint)_target.LocalEndPoint!, Delay);

        /// <summary>A client connected through the relay and the target's end of the same connection.</summary>
        public async Task<Ends> ConnectAsync()
        {
            using var cts = new CancellationTokenSource(Timeout);
            Socket client = NetworkNamespace.CreateLocalTcpSocket();
            client.NoDelay = true;
            await client.ConnectAsync(_relay.LocalEndPoint, cts.Token);
            Socket far = await _target.AcceptAsync(cts.Token);
            far.NoDelay = true;
            return new Ends(client, far);
        }

        public void Dispose()
        {
            _relay.Dispose();
            _target.Dispose();
        }
    }

    private static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        var bytes = new List<byte>();
        byte[] buffer = new byte[256];
        for (int read; (read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0;)
            bytes.AddRange(buffer.AsSpan(0, read));
        return [.. bytes];
    }
}
