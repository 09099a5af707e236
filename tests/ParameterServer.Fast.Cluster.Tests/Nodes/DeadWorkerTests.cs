using ParameterServer.Fast.Cluster.Nodes;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>A worker that disappears stops holding the others back, even under sequential consistency.</summary>
public sealed class DeadWorkerTests
{
    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.Transports))]
    public async Task AWorkerWhoseConnectionDiesStopsHoldingOthersBack(string transport)
    {
        const int workers = 3, stalled = 2, stallAt = 3, iterations = 10;
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 2, workers);
        var run = new ClockedWorkers(cluster, await cluster.DeclareEverywhereAsync(ClockedWorkers.Table), Delay.Sequential);

        Task stalling = run.Run(stalled, stallAt, TimeSpan.Zero);
        Task[] others = [.. Enumerable.Range(0, stalled).Select(w => run.Run(w, iterations, TimeSpan.Zero))];
        await Bounded.Wait(stalling, $"worker {stalled}'s first {stallAt} iterations", TimeSpan.FromSeconds(10));

        // Worker 2 is alive but stuck at clock 3: the others' pulls at clock 4 must wait for it.
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        for (int w = 0; w < stalled; w++)
            Assert.That(run.Completed(w), Is.EqualTo(stallAt + 1), $"worker {w} is held at clock {stallAt + 1} by the stalled worker");

        await cluster.KillWorkerAsync(stalled);
        await Bounded.Wait(Task.WhenAll(others), "the surviving workers after the stalled one died", TimeSpan.FromSeconds(10));

        Assert.That(run.Violations.Where(v => !v.Contains($"worker {stalled}'s")), Is.Empty, "the survivors stay in step with each other");
        for (int w = 0; w < stalled; w++)
            Assert.That(run.Completed(w), Is.EqualTo(iterations));
    }

    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.Transports))]
    public async Task AReplacementStartsAtTheDeadWorkersClockSoNoAcknowledgedIterationIsRerunOrSkipped(string transport)
    {
        const int deadAt = 4, othersAt = 9;
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 2, workers: 2);
        // Eventual consistency: the two workers' clocks drift apart freely.
        for (int i = 0; i < othersAt; i++)
            await Bounded.Wait(cluster.Workers[0].AdvanceClockAsync(), "worker 0's clock");
        for (int i = 0; i < deadAt; i++)
            await Bounded.Wait(cluster.Workers[1].AdvanceClockAsync(), "worker 1's clock");
        // The scheduler must have the dead worker's last tick before the connection drops.
        await Task.Delay(TimeSpan.FromMilliseconds(100));
        await cluster.KillWorkerAsync(1);

        await using WorkerClient replacement = await WorkerClient.ConnectAsync(cluster.Transport, cluster.Scheduler.Endpoint).WaitAsync(TestCluster.StartupTimeout);
        Assert.That(replacement.Rank, Is.EqualTo(1), "the replacement takes the dead worker's shard");
        Assert.That(replacement.Clock, Is.EqualTo(deadAt), "it starts where the dead worker's acknowledged iterations end, not at the others' clock");
    }
}
