using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// Where a worker's request continues once answered (TicketCompletions): on the receive thread
/// that brought the answer only where the transport can lend it (shared memory), and never queued
/// behind a continuation that is still running, which may be waiting for exactly that answer.
/// </summary>
public sealed class WorkerCompletionTests
{
    // TCP does not lend its receive thread: answers go through the completion thread.
    [Test]
    public async Task ContinuationsNeverRunOnAReceiveThreadThatIsNotLent()
    {
        List<string> seen = await ContinuationThreadsAsync("tcp");

        Assert.That(seen, Has.None.StartsWith("psf-tcp-recv"));
        Assert.That(seen, Has.Some.StartsWith("psf-worker-"), "answers to requests made one at a time continue on the completion thread");
    }

    // Shared memory lends its receive thread (ReceiveThread.TryLend), so by default the answer's
    // own thread runs the continuation, with no hand-off.
    [Test]
    public async Task OverSharedMemoryContinuationsRunOnTheReceiveThreadByDefault()
    {
        List<string> seen = await ContinuationThreadsAsync("shm");

        // At least half: see the race explained in the test below. A few through the completion
        // thread: a preemption of a millisecond or more has the watchdog take the receive thread
        // over, and lending pauses for a moment.
        Assert.That(seen.Count(t => t.StartsWith("psf-shm-recv", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(100), string.Join(", ", seen.Distinct()));
        Assert.That(seen.Count(t => t.StartsWith("psf-worker-", StringComparison.Ordinal)), Is.LessThanOrEqualTo(20));
    }

    [Test]
    public async Task InlineContinuationsRunOnTheReceiveThreadWhenAsked()
    {
        await using TestCluster cluster = await TestCluster.StartAsync("tcp", servers: 1, workers: 1);
        WorkerClient worker = cluster.Workers[0];
        TableHandle table = await worker.DeclareTableAsync(TableSpec.Sparse("completion-inline", 1, UpdaterKind.Sum));
        ulong[] keys = [1, 2, 3, 4];
        float[] values = [1, 1, 1, 1], pulled = new float[4];
        worker.InlineContinuations = true;

        List<string> seen = await ContinuationThreadsAsync(worker, table, keys, values);
        worker.InlineContinuations = false;
        await Bounded.Wait(worker.PullAsync(table, keys, pulled, Delay.Eventual), "the pull after");

        // An answer that lands between the await's check and its registering the continuation has
        // the runtime queue that continuation to the pool (ManualResetValueTaskSourceCore): a race
        // seen about once in 200 here. So at least half must continue where their answers arrived
        // (without the mode none does), and none goes through the completion thread.
        Assert.That(seen.Count(t => t.StartsWith("psf-tcp-recv", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(100), string.Join(", ", seen.Distinct()));
        Assert.That(seen, Has.None.StartsWith("psf-worker-"));
        Assert.That(pulled, Is.All.EqualTo(220f));
    }

    // A one-server, one-worker cluster over transport, and the threads of its pushes (below).
    private static async Task<List<string>> ContinuationThreadsAsync(string transport)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 1, workers: 1);
        WorkerClient worker = cluster.Workers[0];
        TableHandle table = await worker.DeclareTableAsync(TableSpec.Sparse("completion-threads", 1, UpdaterKind.Sum));
        return await ContinuationThreadsAsync(worker, table, [1, 2, 3, 4], [1, 1, 1, 1]);
    }

    // 200 pushes one after another from an async loop: the thread each continued on. After 20
    // first and a pause: a continuation that JIT-compiles its way through a millisecond has its
    // receive thread taken over, and lending pauses for a moment after that.
    private static async Task<List<string>> ContinuationThreadsAsync(WorkerClient worker, TableHandle table, ulong[] keys, float[] values)
    {
        var seen = new List<string>();
        await Bounded.Wait(Task.Run(async () =>
        {
            for (int i = 0; i < 20; i++)
                await worker.PushAsync(table, keys, values);
            await Task.Delay(200);
            for (int i = 0; i < 200; i++)
            {
                await worker.PushAsync(table, keys, values);
                seen.Add(Thread.CurrentThread.Name ?? "(pool)");
            }
        }), "200 pushes", TimeSpan.FromSeconds(60));
        return seen;
    }

    // A continuation that blocks until a later request is answered (sync over async, as a legacy
    // caller might): that answer must not wait for the blocked continuation's thread.
    // Over shm the continuation blocks the receive thread itself, lent to it: another thread
    // takes over receiving (ReceiveWatchdog).
    [TestCase("tcp")]
    [TestCase("shm")]
    public async Task AContinuationBlockedOnAnotherRequestDoesNotHoldItsAnswerBack(string transport)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 1, workers: 1);
        WorkerClient worker = cluster.Workers[0];
        TableHandle table = await worker.DeclareTableAsync(TableSpec.Dense("completion-blocked", new KeyRange(0, 16), 1, UpdaterKind.Sum));
        var range = new KeyRange(0, 16);
        float[] ones = [.. Enumerable.Repeat(1f, 16)];
        float[] pulled = new float[16];

        await Bounded.Wait(Task.Run(async () =>
        {
            for (int i = 0; i < 20; i++)
            {
                await worker.PushRangeAsync(table, range, ones);
                bool answered = worker.PullRangeAsync(table, range, pulled, Delay.Eventual).AsTask().Wait(TimeSpan.FromSeconds(5));
                Assert.That(answered, Is.True, $"round {i}: the pull waited on inside a continuation was not answered within 5 s");
            }
        }), "20 rounds with a blocking wait inside a continuation", TimeSpan.FromSeconds(120));

        Assert.That(pulled, Is.All.EqualTo(20f));
    }
}
