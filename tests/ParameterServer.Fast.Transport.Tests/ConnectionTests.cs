using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Tests;

[TestFixtureSource(typeof(TransportFixture), nameof(TransportFixture.Kinds))]
public class ConnectionTests(string kind)
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [Test]
    public async Task FramesOfEverySizeArriveIntactAndInOrder()
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        var handler = new CollectingHandler();
        server.Start(handler);
        client.Start(new CollectingHandler());
        // Around every boundary of every transport: rdma-fake's message limit (4080) and first
        // write (262 136); tcp's coalescing limit (64 KiB) and first receive buffer (256 KiB
        // minus the 4-byte prefix); shm's 256 KiB chunks and its one-record limit (2 MiB − 16).
        int[] sizes = [0, 1, 3, 4080, 4081, 4095, 4096, 65535, 65536, 65537, 262_136, 262_137, 262_140, 262_141, 262_143, 262_145,
            1 << 20, 2_097_136, 2_097_137, (16 << 20) + 5];
        var rng = new Random(1);
        var sent = new List<byte[]>();
        foreach (int size in sizes)
        {
            var frame = new byte[size];
            rng.NextBytes(frame);
            sent.Add(frame);
            // Split into up to four segments at random cut points: the peer must see one frame.
            int a = rng.Next(size + 1), b = rng.Next(a, size + 1), c = rng.Next(b, size + 1);
            await client.SendAsync(new FrameSegments(frame.AsMemory(0, a), frame.AsMemory(a, b - a), frame.AsMemory(b, c - b), frame.AsMemory(c)));
        }
        await handler.WaitForFrames(sizes.Length, s_wait);
        Assert.That(handler.Frames.ToArray(), Is.EqualTo(sent));
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Test]
    public async Task ManyThreadsSendingAtOnceNeverInterleaveFrames()
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        var handler = new CollectingHandler();
        server.Start(handler);
        const int threads = 8, perThread = 500;
        await Task.WhenAll(Enumerable.Range(0, threads).Select(t => Task.Run(async () =>
        {
            var rng = new Random(t);
            for (int i = 0; i < perThread; i++)
            {
                int size = rng.Next(8, 3000);
                var frame = new byte[size];
                BitConverter.TryWriteBytes(frame, t);
                BitConverter.TryWriteBytes(frame.AsSpan(4), i);
                frame.AsSpan(8).Fill((byte)(t * 31 + i));
                await client.SendAsync(frame);
            }
        })));
        await handler.WaitForFrames(threads * perThread, s_wait);
        var next = new int[threads];
        foreach (byte[] frame in handler.Frames)
        {
            int t = BitConverter.ToInt32(frame), i = BitConverter.ToInt32(frame, 4);
            Assert.That(i, Is.EqualTo(next[t]++), "frames of one sender arrive in order");
            Assert.That(frame.AsSpan(8).IndexOfAnyExcept((byte)(t * 31 + i)), Is.EqualTo(-1), "a frame is never mixed with another");
        }
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Test]
    public async Task RequestsAndRepliesFlowBothWays()
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        server.Start(new CollectingHandler { OnEach = (c, f) => c.SendAsync(f.Reverse().ToArray()).AsTask().Wait() });
        var replies = new CollectingHandler();
        client.Start(replies);
        for (int i = 0; i < 100; i++)
            await client.SendAsync(new byte[] { (byte)i, 1, 2 });
        await replies.WaitForFrames(100, s_wait);
        Assert.That(replies.Frames.Select(f => f[2]), Is.EqualTo(Enumerable.Range(0, 100).Select(i => (byte)i)));
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Test]
    public async Task ThePeerClosingIsReportedAndSendsThenFail()
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        var serverSide = new CollectingHandler();
        server.Start(serverSide);
        client.Start(new CollectingHandler());
        await client.DisposeAsync();
        Task closed = serverSide.Closed.Task;
        Assert.That(await Task.WhenAny(closed, Task.Delay(s_wait)), Is.SameAs(closed), "the survivor hears of the close");
        await Assert.ThrowsAsync<ConnectionClosedException>(async () => await client.SendAsync(new byte[] { 1 }));
        await server.DisposeAsync();
    }
}
