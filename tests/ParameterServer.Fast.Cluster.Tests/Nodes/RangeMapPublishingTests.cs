using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>The range map is published to every node whenever it changes (DESIGN: "Published to every node").</summary>
public sealed class RangeMapPublishingTests
{
    [Test]
    public async Task ATableOneWorkerDeclaresReachesEveryWorkersMap()
    {
        await using TestCluster cluster = await TestCluster.StartAsync("inproc", servers: 2, workers: 3);

        TableHandle table = await Bounded.Wait(cluster.Workers[0].DeclareTableAsync(TableSpec.Dense("declared-once", new KeyRange(0, 64))),
            "declaring", Bounded.Request);

        for (int w = 1; w < 3; w++)
        {
            WorkerClient other = cluster.Workers[w];
            await Eventually(() => other.Map.Table(table.Id) is not null, $"worker {w} learns of table '{table.Spec.Name}'");
            await Bounded.Wait(other.PushRangeAsync(table, new KeyRange(0, 64), new float[64]), $"worker {w} pushes to a table it did not declare");
        }
    }

    [Test]
    public async Task AWorkerThatDiesIsMarkedDeadInTheOtherWorkersMaps()
    {
        await using TestCluster cluster = await TestCluster.StartAsync("inproc", servers: 1, workers: 3);

        await cluster.KillWorkerAsync(1);

        await Eventually(() => cluster.Workers[0].Map.LiveWorkers is [true, false, true], "worker 0 sees worker 1 dead");
        await Eventually(() => cluster.Scheduler.CurrentMap.LiveWorkers is [true, false, true], "the scheduler marks worker 1 dead");
    }

    // Polls a condition another thread makes true, for at most a few seconds.
    internal static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"{what}: not within 5 s");
            await Task.Delay(10);
        }
    }
}
