using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// The inbox runs frames on whichever receive thread brings them: never two at once, every
/// connection's frames in the order they came, none lost, and a frame that had to wait is a copy
/// (the transport's span is gone by the time it runs).
/// </summary>
public sealed class InboxTests
{
    [Test]
    public async Task ConcurrentConnectionsNeverOverlapAndKeepTheirOrder()
    {
        const int Connections = 4, FramesEach = 20_000;
        int running = 0, overlaps = 0;
        var last = new int[Connections];
        Array.Fill(last, -1);
        int outOfOrder = 0, handled = 0;
        var connections = Enumerable.Range(0, Connections).Select(i => new NamedConnection(i)).ToArray();
        using var inbox = new Inbox("test", NullLogger.Instance, (c, frame) =>
        {
            if (Interlocked.Increment(ref running) != 1)
                Interlocked.Increment(ref overlaps);
            int id = ((NamedConnection)c).Id;
            int sequence = BinaryPrimitives.ReadInt32LittleEndian(frame);
            if (sequence != last[id] + 1)
                outOfOrder++;
            last[id] = sequence;
            handled++;
            if (sequence % 97 == 0)
                Thread.SpinWait(200); // hold the inbox now and then so others must queue
            Interlocked.Decrement(ref running);
        }, (_, _) => { });

        await Task.WhenAll(connections.Select(c => Task.Run(() =>
        {
            Span<byte> frame = stackalloc byte[16];
            for (int s = 0; s < FramesEach; s++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(frame, s);
                inbox.OnFrame(c, frame);
                frame.Clear(); // the transport reuses its buffer at once
            }
        }))).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(overlaps, Is.Zero, "two frames ran at once");
            Assert.That(outOfOrder, Is.Zero, "a connection's frames ran out of order");
            Assert.That(handled, Is.EqualTo(Connections * FramesEach), "frames lost");
        });
        TestContext.Out.WriteLine($"{inbox.QueuedFrames} of {handled} frames waited their turn");
    }

    [Test]
    public void PostedWorkRunsInTurnAndDisposeWaitsForTheRunningHandler()
    {
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        bool finished = false, posted = false;
        var inbox = new Inbox("test", NullLogger.Instance, (_, _) =>
        {
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(10));
            finished = true;
        }, (_, _) => { });
        var runner = Task.Run(() => inbox.OnFrame(new NamedConnection(0), [1, 2, 3]));
        Assert.That(entered.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(inbox.Post(() => posted = true), Is.True, "work is taken while a frame runs");
        Assert.That(posted, Is.False, "posted work waits for the running frame");
        var disposing = Task.Run(inbox.Dispose);
        Assert.That(disposing.Wait(TimeSpan.FromMilliseconds(200)), Is.False, "dispose returned while a handler was running");
        release.Set();
        Assert.That(disposing.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(runner.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(finished, Is.True);
        Assert.That(inbox.Post(() => { }), Is.False, "a disposed inbox takes nothing");
    }

    [Test]
    public void AHandlerThatThrowsDoesNotStopTheInbox()
    {
        int calls = 0;
        using var inbox = new Inbox("test", NullLogger.Instance, (_, frame) =>
        {
            calls++;
            if (frame[0] == 0)
                throw new InvalidOperationException("bad frame");
        }, (_, _) => { });
        inbox.OnFrame(new NamedConnection(0), [0]);
        inbox.OnFrame(new NamedConnection(0), [1]);
        Assert.That(calls, Is.EqualTo(2));
    }

    private sealed class NamedConnection(int id) : IConnection
    {
        public int Id => id;
        public string RemoteName => $"test://{id}";
        public bool IsConnected => true;
        public Task Completion => Task.CompletedTask;
        public void Start(IFrameHandler handler) { }
        public ValueTask SendAsync(FrameSegments frame, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
