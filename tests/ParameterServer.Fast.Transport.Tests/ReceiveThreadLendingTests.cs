using System.Collections.Concurrent;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Tests;

/// <summary>
/// Lending a receive thread to user code (<see cref="ReceiveThread"/>): shared memory lends, keeps
/// the frames in order, and has another thread take over receiving while a lent one stays away;
/// the other transports do not lend.
/// </summary>
public sealed class ReceiveThreadLendingTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    /// <summary>Records each frame's first byte and thread, checks its bytes, then lends the thread and runs <see cref="Then"/> there.</summary>
    private sealed class LendingHandler : IFrameHandler
    {
        public readonly ConcurrentQueue<(int Index, Thread Thread, bool Lent)> Seen = new();
        public readonly SemaphoreSlim Arrived = new(0);
        public readonly ConcurrentQueue<string> Broken = new();
        public Action<IConnection, int>? Then { get; init; }

        public void OnFrame(IConnection connection, ReadOnlySpan<byte> frame)
        {
            int index = frame[0];
            for (int i = 1; i < frame.Length; i++)
            {
                if (frame[i] != (byte)(index + i))
                {
                    Broken.Enqueue($"frame {index} byte {i}");
                    break;
                }
            }
            bool lent = ReceiveThread.TryLend();
            Seen.Enqueue((index, Thread.CurrentThread, lent));
            Arrived.Release();
            Then?.Invoke(connection, index);
        }

        public void OnClosed(IConnection connection, Exception? error) { }

        public async Task WaitFor(int count)
        {
            using var cts = new CancellationTokenSource(Bound);
            for (int i = 0; i < count; i++)
                await Arrived.WaitAsync(cts.Token);
        }
    }

    // TCP could lend as well, and measured slower: a receive thread blocked in recv wakes an idle
    // core, where the worker's spinning completion thread keeps it awake (see TicketCompletions).
    private static IEnumerable<string> Lending() => ["shm"];

    private static byte[] Frame(int index, int length)
    {
        var bytes = new byte[length];
        bytes[0] = (byte)index;
        for (int i = 1; i < length; i++)
            bytes[i] = (byte)(index + i);
        return bytes;
    }

    [TestCaseSource(nameof(Lending))]
    public async Task LendsItsReceiveThreadAndKeepsReceivingOnItWhenLentBriefly(string kind)
    {
        // Every fourth frame is larger than half the 4 MiB ring, so it arrives in chunks and is
        // reassembled: lending releases the reassembly buffer as well as the record.
        var seen = await ExchangeAsync(kind, new LendingHandler(), frames: 40, largeEvery: 4);

        // A preemption of a millisecond or more on a busy machine can have the watchdog take one
        // over (then lending pauses), so most, not all.
        Assert.That(seen.Count(s => s.Lent), Is.GreaterThanOrEqualTo(20));
        Assert.That(seen.Select(s => s.Thread).Distinct().Count(), Is.LessThanOrEqualTo(3), "a lend that returns at once keeps its thread receiving");
    }

    [TestCaseSource(nameof(Lending))]
    public async Task AThreadLentTooLongHasItsReceivingTakenOverAndFramesStayInOrder(string kind)
    {
        using var secondArrived = new ManualResetEventSlim(false);
        bool firstReleased = false;
        var handler = new LendingHandler
        {
            // Frame 0 blocks (as a continuation waiting synchronously for a later answer would)
            // until frame 1 has been received, which only a new receive thread can do.
            Then = (_, index) =>
            {
                if (index == 0)
                    firstReleased = secondArrived.Wait(Bound);
                else if (index == 1)
                    secondArrived.Set();
            },
        };

        var seen = await ExchangeAsync(kind, handler, frames: 20, largeEvery: 5);

        Assert.That(seen[1].Thread, Is.Not.SameAs(seen[0].Thread), "frame 1 came on the thread that took over");
        Assert.That(seen.Skip(1).Select(s => s.Thread), Has.None.SameAs(seen[0].Thread), "the lent thread, once back, left receiving to the new one");
        Assert.That(seen[1].Thread.Name, Does.StartWith("psf-shm-recv"));
        Assert.That(() => Volatile.Read(ref firstReleased), Is.True.After(10_000, 10));
    }

    // Sends frames 0 .. frames-1 (every largeEvery-th one 3 MiB) to handler, checks they all came
    // whole and in order, closes both ends (the receiver closes its side within the bound) and
    // returns what the handler saw.
    private static async Task<(int Index, Thread Thread, bool Lent)[]> ExchangeAsync(string kind, LendingHandler handler, int frames, int largeEvery)
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        server.Start(handler);
        client.Start(new CollectingHandler());

        for (int i = 0; i < frames; i++)
            await client.SendAsync(Frame(i, i % largeEvery == largeEvery - 1 ? 3 << 20 : 64));
        await handler.WaitFor(frames);
        await client.DisposeAsync();
        await server.DisposeAsync();

        var seen = handler.Seen.ToArray();
        Assert.That(handler.Broken, Is.Empty);
        Assert.That(seen.Select(s => s.Index), Is.EqualTo(Enumerable.Range(0, frames)), "in order");
        Assert.That(((IAsyncResult)server.Completion).AsyncWaitHandle.WaitOne(Bound), Is.True, "the receiver closed the connection");
        return seen;
    }

    [TestCaseSource(nameof(Lending))]
    public async Task AConnectionDisposedFromItsOwnLentThreadCloses(string kind)
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        var disposed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new LendingHandler
        {
            Then = (connection, _) =>
            {
                connection.DisposeAsync().AsTask().Wait(Bound);
                disposed.TrySetResult();
            },
        };
        server.Start(handler);
        client.Start(new CollectingHandler());

        await client.SendAsync(Frame(0, 64));

        await disposed.Task.WaitAsync(Bound);
        await server.Completion.WaitAsync(Bound);
        Assert.That(server.IsConnected, Is.False);
        await client.DisposeAsync();
    }

    [TestCase("inproc")]
    [TestCase("tcp4")]
    [TestCase("tcp-native")]
    [TestCase("tls")]
    public async Task OtherTransportsDoNotLend(string kind)
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        var handler = new LendingHandler();
        server.Start(handler);
        client.Start(new CollectingHandler());

        await client.SendAsync(Frame(0, 64));
        await handler.WaitFor(1);

        Assert.That(handler.Seen.Single().Lent, Is.False);
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Test]
    public void NoThreadIsLentOffAReceiveThread() => Assert.That(ReceiveThread.TryLend(), Is.False);
}
