using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// A worker's copy of a pulled range answers later pulls exactly while bounded delay allows it:
/// while every worker's clock at the time of the copy is at least c − τ; past that the pull goes to
/// the servers (and sees what the others pushed meanwhile). Eventual pulls never use the copy.
/// </summary>
public sealed class PulledRangeCacheTests
{
    [Test]
    public async Task ACopyServesPullsOnlyWhileItIsFreshEnoughForTheirDelayBound()
    {
        await using TestCluster cluster = await TestCluster.StartAsync("inproc", servers: 2, workers: 2);
        TableHandle table = await cluster.DeclareEverywhereAsync(TableSpec.Dense("cached", new KeyRange(0, 1000), 1, UpdaterKind.Sum));
        WorkerClient reader = cluster.Workers[0], writer = cluster.Workers[1];
        reader.CachePulledRanges = true;
        var range = new KeyRange(0, 1000);
        float[] ones = [.. Enumerable.Repeat(1f, 1000)];
        float[] pulled = new float[1000];
        var tau = Delay.BoundedDelay(2);

        await Bounded.Wait(reader.PullRangeAsync(table, range, pulled, tau), "first pull");
        Assert.That(pulled, Is.All.EqualTo(0f));
        await Bounded.Wait(writer.PushRangeAsync(table, range, ones), "the other worker's push");

        // Clocks 0..2 with τ = 2 need every worker at ≥ c − 2 ≤ 0: the copy (freshness 0) will do.
        for (int c = 0; c < 2; c++)
        {
            await reader.AdvanceClockAsync();
            await Bounded.Wait(reader.PullRangeAsync(table, range, pulled, tau), $"pull at clock {reader.Clock}");
            Assert.That(pulled, Is.All.EqualTo(0f), $"clock {reader.Clock}: answered from the copy");
        }
        Assert.That(reader.PulledRangeCacheHits, Is.EqualTo(2));

        // An eventual pull always asks the servers.
        await Bounded.Wait(reader.PullRangeAsync(table, range, pulled, Delay.Eventual), "eventual pull");
        Assert.That(pulled, Is.All.EqualTo(1f));

        // At clock 3 the copy is too old; the pull waits for the writer to reach clock 1, then sees its push.
        await reader.AdvanceClockAsync();
        Task pull = reader.PullRangeAsync(table, range, pulled, tau).AsTask();
        await Task.Delay(100);
        Assert.That(pull.IsCompleted, Is.False, "a pull the copy cannot answer waits for the slower worker");
        await writer.AdvanceClockAsync();
        await Bounded.Wait(pull, "pull at clock 3", Bounded.Request);
        Assert.That(pulled, Is.All.EqualTo(1f));
        Assert.That(reader.PulledRangeCacheHits, Is.EqualTo(2));
    }
}
