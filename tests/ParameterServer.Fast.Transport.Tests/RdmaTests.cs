using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Rdma;

namespace ParameterServer.Fast.Transport.Tests;

/// <summary>
/// The managed RDMA connection logic (framing, credits as back-pressure, completions, errors,
/// liveness) over the shim's in-memory fake verbs: this machine has no RDMA device. The same
/// logic runs over a device's verbs, which has not been tried on hardware.
/// </summary>
public class RdmaTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    internal static async Task<(IConnection Client, IConnection Server, IListener Listener)> Pair(RdmaOptions options)
    {
        var transport = new RdmaTransport(TransportFixture.Secret, options: options);
        IListener listener = transport.Listen(Endpoint.Parse("rdma://127.0.0.1:0"));
        using var cts = new CancellationTokenSource(s_wait);
        ValueTask<IConnection> accept = listener.AcceptAsync(cts.Token);
        IConnection client = await transport.ConnectAsync(listener.LocalEndpoint, cts.Token);
        return (client, await accept, listener);
    }

    [Test]
    public void WithoutADeviceTheTransportSaysSoPlainly()
    {
        string? reason = RdmaTransport.Unavailable();
        if (reason is null)
            Assert.Ignore("this machine has an RDMA device");
        var e = Assert.Throws<TransportUnavailableException>(() => new RdmaTransport(TransportFixture.Secret));
        Assert.That(e!.Message, Does.StartWith("no RDMA device"));
        TestContext.Out.WriteLine(e.Message);
    }

    [Test]
    public async Task CreditsRunOutAsBackPressureAndComeBackWhenThePeerReads()
    {
        (IConnection client, IConnection server, IListener listener) = await Pair(TransportFixture.FakeRdma with { RecvSlots = 8, SlotBytes = 256 });
        await using var _ = listener;
        client.Start(new CollectingHandler()); // polls; the server does not until it starts
        var frame = new byte[64];
        int sent = 0;
        while (sent < 100 && client.TrySend(frame) == SendStatus.Sent)
            sent++;
        // 8 receive buffers at the peer; one credit is kept for the credit message itself.
        Assert.That(sent, Is.EqualTo(7));
        Assert.That(client.TrySend(frame), Is.EqualTo(SendStatus.BackPressured));
        Assert.That(((RdmaConnection)client).Stats().Credits, Is.EqualTo(1));

        var received = new CollectingHandler();
        server.Start(received);
        await received.WaitForFrames(7, s_wait);
        // The peer reposts its buffers and reports them; the waiting sends go out.
        for (int i = 0; i < 500; i++)
            await client.SendAsync(frame);
        await received.WaitForFrames(500, s_wait);
        Assert.That(client.IsConnected && server.IsConnected, Is.True);
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Test]
    public async Task AFailedCompletionClosesBothEndsAndNamesTheWorkRequest()
    {
        (IConnection client, IConnection server, IListener listener) = await Pair(TransportFixture.FakeRdma);
        await using var _ = listener;
        var clientSide = new CollectingHandler();
        var serverSide = new CollectingHandler();
        client.Start(clientSide);
        server.Start(serverSide);
        RdmaChannel.FakeFailNext(10); // a remote access error, as a device reports it
        Assert.That(client.TrySend(new byte[] { 1 }), Is.EqualTo(SendStatus.Sent), "accepted; it fails on the wire");
        Task<Exception?> closed = clientSide.Closed.Task;
        Assert.That(await Task.WhenAny(closed, Task.Delay(s_wait)), Is.SameAs(closed));
        Assert.That((await closed)?.Message, Does.Contain("send completion").And.Contain("failed"));
        Assert.That(client.TrySend(new byte[] { 1 }), Is.EqualTo(SendStatus.NotConnected));
        // The client's end went away without a goodbye: the server hears of it through the
        // setup connection.
        Task<Exception?> serverClosed = serverSide.Closed.Task;
        Assert.That(await Task.WhenAny(serverClosed, Task.Delay(s_wait)), Is.SameAs(serverClosed));
        Assert.That(serverSide.Frames, Is.Empty);
        await server.DisposeAsync();
    }

    [Test]
    public async Task APeerThatVanishesIsReportedWithinASecond()
    {
        (IConnection client, IConnection server, IListener listener) = await Pair(TransportFixture.FakeRdma);
        await using var _ = listener;
        var clientSide = new CollectingHandler();
        client.Start(clientSide);
        server.Start(new CollectingHandler());
        await client.SendAsync(new byte[300_000]); // a write in flight, then quiet
        await Task.Delay(50);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ((RdmaConnection)server).Crash();
        Task<Exception?> closed = clientSide.Closed.Task;
        Assert.That(await Task.WhenAny(closed, Task.Delay(s_wait)), Is.SameAs(closed));
        TestContext.Out.WriteLine($"closure reported {clock.Elapsed.TotalMilliseconds:0} ms after the peer vanished");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)));
        Assert.That((await closed)?.Message, Does.Contain("died"));
        Assert.That(client.TrySend(new byte[] { 1 }), Is.EqualTo(SendStatus.NotConnected));
        await client.DisposeAsync();
    }

    [Test]
    public async Task LargeFramesReuseTheirRegistrationsAndClosingDropsThemAll()
    {
        (ulong registered, ulong deregistered) = RdmaChannel.FakeCounts();
        (IConnection client, IConnection server, IListener listener) = await Pair(TransportFixture.FakeRdma);
        var received = new CollectingHandler();
        client.Start(new CollectingHandler());
        server.Start(received);
        byte[] frame = new byte[3 << 20]; // 12 writes of 256 KiB through 4 staging chunks
        Random.Shared.NextBytes(frame);
        for (int i = 0; i < 10; i++)
            await client.SendAsync(frame);
        await received.WaitForFrames(10, s_wait);
        Assert.That(received.Frames.All(f => f.AsSpan().SequenceEqual(frame)), Is.True);
        RdmaStats stats = ((RdmaConnection)client).Stats();
        TestContext.Out.WriteLine($"registration cache: {stats.MrHits} hits, {stats.MrMisses} misses, {stats.MrBytes} bytes");
        Assert.That(stats.MrHits, Is.GreaterThan(100));
        Assert.That(stats.MrMisses, Is.LessThanOrEqualTo(8), "one registration per staging chunk (and its first partial use)");
        await client.DisposeAsync();
        await server.DisposeAsync();
        await listener.DisposeAsync();
        (ulong registeredAfter, ulong deregisteredAfter) = RdmaChannel.FakeCounts();
        Assert.That(registeredAfter - registered, Is.GreaterThan(0));
        Assert.That(deregisteredAfter - deregistered, Is.EqualTo(registeredAfter - registered), "every registration was dropped");
    }
}
