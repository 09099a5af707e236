using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Tests;

/// <summary>Back-pressure and "not connected" come back as <see cref="SendStatus"/> values on every transport.</summary>
[TestFixtureSource(typeof(TransportFixture), nameof(TransportFixture.Kinds))]
public class SendStatusTests(string kind)
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [Test]
    public async Task SendsReportSentAndNotConnectedWithoutThrowing()
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        var received = new CollectingHandler();
        server.Start(received);
        client.Start(new CollectingHandler());
        Assert.That(client.TrySend(new byte[] { 1 }), Is.EqualTo(SendStatus.Sent));
        ValueTask<SendStatus> pending = client.TrySendAsync(new byte[] { 2 });
        Assert.That(pending.IsCompletedSuccessfully, Is.True, "a send that goes out at once completes synchronously");
        Assert.That(await pending, Is.EqualTo(SendStatus.Sent));
        await received.WaitForFrames(2, s_wait);

        await client.DisposeAsync();
        Assert.That(client.IsConnected, Is.False);
        Assert.That(client.TrySend(new byte[] { 3 }), Is.EqualTo(SendStatus.NotConnected));
        Assert.That(await client.TrySendAsync(new byte[] { 3 }), Is.EqualTo(SendStatus.NotConnected));
        await Assert.ThrowsAsync<ConnectionClosedException>(async () => await client.SendAsync(new byte[] { 3 }));

        // The survivor: once its peer's close is reported, its sends say NotConnected too.
        Task closed = received.Closed.Task;
        Assert.That(await Task.WhenAny(closed, Task.Delay(s_wait)), Is.SameAs(closed));
        Assert.That(server.TrySend(new byte[] { 4 }), Is.EqualTo(SendStatus.NotConnected));
        Assert.That(await server.TrySendAsync(new byte[] { 4 }), Is.EqualTo(SendStatus.NotConnected));
        await server.DisposeAsync();
    }

    // Nobody reads at the far end (its receive thread is not started), so the ring, the socket
    // buffers or the RDMA credits fill: TrySend then says BackPressured, with nothing of that
    // frame sent, and every frame it called Sent arrives once the far end reads.
    [Test]
    public async Task TrySendReportsBackPressureAndLosesNothing()
    {
        if (kind == "inproc")
            Assert.Ignore("the in-process inbox is unbounded: never back-pressured");
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        client.Start(new CollectingHandler());
        var frame = new byte[1024];
        int sent = 0;
        SendStatus status = SendStatus.Sent;
        // Bounded: loopback socket buffers autotune to a few MiB, the shm ring is 4 MiB.
        for (int i = 0; i < 200_000; i++)
        {
            BitConverter.TryWriteBytes(frame, sent);
            status = client.TrySend(frame);
            if (status != SendStatus.Sent)
                break;
            sent++;
        }
        Assert.That(status, Is.EqualTo(SendStatus.BackPressured), $"after {sent} frames");
        Assert.That(sent, Is.GreaterThan(0));
        TestContext.Out.WriteLine($"{kind}: back-pressured after {sent} frames of 1 KiB");

        var received = new CollectingHandler();
        server.Start(received);
        await received.WaitForFrames(sent, s_wait);
        Assert.That(received.Frames.Select(f => BitConverter.ToInt32(f)), Is.EqualTo(Enumerable.Range(0, sent)));
        // Room again: the waiting send goes out, and so does a try before long.
        Assert.That(await client.TrySendAsync(frame), Is.EqualTo(SendStatus.Sent));
        Assert.That(SpinWait.SpinUntil(() => client.TrySend(frame) == SendStatus.Sent, s_wait), Is.True);
        await received.WaitForFrames(2, s_wait);
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Test]
    public async Task AnotherSenderMidFrameIsBackPressureNotAWait()
    {
        if (kind == "inproc")
            Assert.Ignore("in-process sends take no lock");
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        var received = new CollectingHandler();
        client.Start(new CollectingHandler());
        server.Start(received);
        // One thread streams 16 MiB frames; the other tries small ones meanwhile.
        byte[] big = new byte[16 << 20];
        using var stop = new CancellationTokenSource();
        Task streaming = Task.Run(async () =>
        {
            for (int i = 0; i < 20 && !stop.IsCancellationRequested; i++)
                await client.SendAsync(big);
        });
        int backPressured = 0, sent = 0;
        while (!streaming.IsCompleted && backPressured == 0)
        {
            SendStatus status = client.TrySend(new byte[16]);
            if (status == SendStatus.BackPressured)
                backPressured++;
            else if (status == SendStatus.Sent)
                sent++;
        }
        stop.Cancel();
        await streaming;
        Assert.That(backPressured, Is.GreaterThan(0), "a try while another frame goes out is refused at once");
        await client.DisposeAsync();
        await server.DisposeAsync();
    }
}
