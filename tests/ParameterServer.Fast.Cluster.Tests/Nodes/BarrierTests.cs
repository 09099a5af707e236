using ParameterServer.Fast.Cluster.Nodes;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// Barriers and dead workers: a barrier waits for the shard of a dead worker while its replacement
/// may still come, so what follows the barrier sees every shard; without a replacement it opens
/// once the replacement timeout has passed.
/// </summary>
public sealed class BarrierTests
{
    private const uint TheBarrier = 77;

    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.Transports))]
    public async Task ABarrierOpensWhenEveryWorkerHasReachedIt(string transport)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 1, workers: 3);
        Task first = cluster.Workers[0].BarrierAsync(TheBarrier);
        Task second = cluster.Workers[1].BarrierAsync(TheBarrier);
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        Assert.That(first.IsCompleted || second.IsCompleted, Is.False, "two of three workers do not open the barrier");
        await Bounded.Wait(Task.WhenAll(first, second, cluster.Workers[2].BarrierAsync(TheBarrier)), "the barrier with all three workers", Bounded.Request);
    }

    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.Transports))]
    public async Task ABarrierWaitsForTheReplacementOfADeadWorker(string transport)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 1, workers: 2);
        await cluster.KillWorkerAsync(1);
        Task survivor = cluster.Workers[0].BarrierAsync(TheBarrier);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.That(survivor.IsCompleted, Is.False, "the dead worker's shard has not reached the barrier yet");

        await using WorkerClient replacement = await WorkerClient.ConnectAsync(cluster.Transport, cluster.Scheduler.Endpoint).WaitAsync(TestCluster.StartupTimeout);
        Assert.That(replacement.Rank, Is.EqualTo(1));
        await Bounded.Wait(Task.WhenAll(survivor, replacement.BarrierAsync(TheBarrier)), "the barrier once the replacement reached it", Bounded.Request);
    }

    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.Transports))]
    public async Task WithoutAReplacementABarrierOpensAfterTheReplacementTimeout(string transport)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 1, workers: 2, replacementTimeout: TimeSpan.FromSeconds(1));
        await cluster.KillWorkerAsync(1);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        await Bounded.Wait(cluster.Workers[0].BarrierAsync(TheBarrier), "the barrier after the replacement timeout", Bounded.Request);
        Assert.That(waited.Elapsed, Is.GreaterThan(TimeSpan.FromSeconds(0.5)), "it waited for a replacement first");

        // A replacement that comes later passes the opened barrier at once.
        await using WorkerClient late = await WorkerClient.ConnectAsync(cluster.Transport, cluster.Scheduler.Endpoint).WaitAsync(TestCluster.StartupTimeout);
        await Bounded.Wait(late.BarrierAsync(TheBarrier), "a late replacement at the opened barrier", Bounded.Request);
    }
}
