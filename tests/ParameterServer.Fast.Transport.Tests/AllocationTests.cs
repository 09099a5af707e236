using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Tests;

/// <summary>
/// After warm-up, moving a frame allocates nothing on the managed side: exactly zero bytes on the
/// sending thread and on the receiving one (DESIGN: the hot path allocates nothing per request).
/// </summary>
public class AllocationTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (string kind in new[] { "inproc", "shm", "tcp4", "tcp-native", "rdma-fake" })
        {
            yield return new TestCaseData(kind, 64);
            yield return new TestCaseData(kind, 4096);
            // 1 MiB: TCP sends that must wait for socket room; shm records of a quarter ring;
            // RDMA writes in four chunks.
            yield return new TestCaseData(kind, 1 << 20);
            // 3 MiB: chunked through the shm ring (more than half of its 4 MiB).
            yield return new TestCaseData(kind, 3 << 20);
        }
    }

    [TestCaseSource(nameof(Cases))]
    public async Task MovingAFrameAllocatesNothingAfterWarmUp(string kind, int size)
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        var counter = new CountingHandler();
        server.Start(counter);
        client.Start(new CountingHandler());
        byte[] frame = GC.AllocateArray<byte>(size, pinned: true);
        int messages = size > 65536 ? 200 : 5000;
        long threadBytes = 0, totalBytes = 0;
        bool arrived = false;
        int warmUpRounds = 0;
        // Synchronous on one thread: every transport here sends inside TrySendAsync, so its
        // ValueTask is complete when it returns. At most 64 frames in flight, as requests and
        // replies keep it; the in-process inbox, being unbounded, would otherwise grow (and
        // allocate) with every deeper burst than the last.
        void SendMany(int round)
        {
            for (int i = 0; i < messages; i++)
            {
                while (round * messages + i + counter.Held - Volatile.Read(ref counter.Count) >= 64)
                    Thread.Yield();
                ValueTask<SendStatus> sent = client.TrySendAsync(frame);
                if (!sent.IsCompletedSuccessfully || sent.Result != SendStatus.Sent)
                    throw new InvalidOperationException($"send {i}: {sent}");
            }
        }
        // The in-process inbox is unbounded: it allocates whenever a burst runs deeper than any
        // before (then never again). So its warm-up holds the receiver until 80 frames wait,
        // deeper than the measured round's window of 64 (+1 being handled) can ever get.
        if (kind == "inproc")
            counter.HoldFirstFrameUntil(80);
        var thread = new Thread(() =>
        {
            // Warm-up: JIT tiers, pools, queues and caches reach their working sizes.
            if (kind == "inproc")
            {
                for (int i = 0; i < 80; i++)
                {
                    if (client.TrySend(frame) != SendStatus.Sent)
                        throw new InvalidOperationException("the in-process inbox refused a frame");
                }
                counter.Release();
            }
            // At least three rounds and two seconds: the JIT recompiles hot methods optimised
            // (and on-stack-replaces long loops) a while after they get hot, and that work
            // allocates on the thread that runs them.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int rounds = 0;
            for (; rounds < 3 || (rounds < 50 && clock.Elapsed < TimeSpan.FromSeconds(2)); rounds++)
            {
                counter.Expect((rounds + 1) * messages);
                SendMany(rounds);
                counter.Done.Wait(TimeSpan.FromSeconds(30));
            }
            warmUpRounds = rounds;
            counter.Expect((warmUpRounds + 1) * messages, measureFrom: warmUpRounds * messages);
            long total = GC.GetTotalAllocatedBytes(precise: true);
            long before = GC.GetAllocatedBytesForCurrentThread();
            SendMany(warmUpRounds);
            threadBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            arrived = counter.Done.Wait(TimeSpan.FromSeconds(30));
            totalBytes = GC.GetTotalAllocatedBytes(precise: true) - total;
        });
        thread.Start();
        Assert.That(thread.Join(TimeSpan.FromSeconds(90)), Is.True, "the sends finish");
        Assert.That(arrived, Is.True, $"{Volatile.Read(ref counter.Count)} of {(warmUpRounds + 1) * messages} frames arrived");
        TestContext.Out.WriteLine($"{kind} {size} B: {threadBytes} B on the sending thread, {counter.ReceiverBytes} B on the receiving one, {totalBytes} B in the process over {messages} frames");
        Assert.That(threadBytes, Is.EqualTo(0), $"{threadBytes} bytes allocated by {messages} sends");
        Assert.That(counter.ReceiverBytes, Is.EqualTo(0), $"{counter.ReceiverBytes} bytes allocated by the receive thread over {messages} frames");
        // The process total also counts the test host's own work meanwhile (its reporting
        // allocates in bursts of up to ~100 KB), so it is only reported, and bounded loosely:
        // a leak of one object per frame would show as thousands of bytes per frame here.
        Assert.That(totalBytes / (double)messages, Is.LessThan(1024), $"{totalBytes} bytes allocated in the process over {messages} frames");
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    private sealed class CountingHandler : IFrameHandler
    {
        public int Count;
        private int _target = int.MaxValue;
        private int _measureFrom = int.MaxValue;

        public CountingHandler() => _ = Done.WaitHandle; // the event's kernel object, made now

        private readonly ManualResetEventSlim _gate = new(initialState: true);

        /// <summary>Frames sent while the receiver was held (they count towards the first round).</summary>
        public int Held { get; private set; }

        public void HoldFirstFrameUntil(int frames)
        {
            Held = frames;
            _gate.Reset();
        }

        public void Release() => _gate.Set();

        public ManualResetEventSlim Done { get; } = new();

        public void Expect(int total, int measureFrom = int.MaxValue)
        {
            Done.Reset();
            Volatile.Write(ref _measureFrom, measureFrom);
            Volatile.Write(ref _target, total);
            if (Volatile.Read(ref Count) >= total)
                Done.Set();
        }

        /// <summary>Bytes the receive thread allocated between the first frame of the measured half and the last.</summary>
        public long ReceiverBytes;
        private long _receiverMark;

        public void OnFrame(IConnection connection, ReadOnlySpan<byte> frame)
        {
            _gate.Wait(TimeSpan.FromSeconds(30));
            int count = Interlocked.Increment(ref Count) - Held;
            int target = Volatile.Read(ref _target);
            if (count == Volatile.Read(ref _measureFrom) + 1)
                _receiverMark = GC.GetAllocatedBytesForCurrentThread();
            if (count == target && _receiverMark != 0)
                ReceiverBytes = GC.GetAllocatedBytesForCurrentThread() - _receiverMark;
            if (count >= target)
                Done.Set();
        }

        public void OnClosed(IConnection connection, Exception? error)
        {
        }
    }
}
