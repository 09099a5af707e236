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
}
