using System.Diagnostics;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// Rebuilding replicas: with every range on two (or three) servers, a server dies in the middle of concurrent
/// pushes; the scheduler has the surviving tail of each shortened chain copy its range to a new
/// member while the pushes go on, then names it in the chain. A second server then dies: without
/// the rebuild the ranges it shared with the first would be gone; with it, every row still equals
/// the exact sum of all pushes (Sum updater, small integers: float addition is exact in any order).
/// </summary>
public sealed class ReplicaRebuildTests
{
    private const int Workers = 2;
    private const int DenseRows = 4096;
    // Rounds pushed at least, and at most: the second kill must land while pushes still flow.
    private const int MinRounds = 60;
    private const int MaxRounds = 3000;
    private const int RoundsAfterLastKill = 20;
    private static readonly TimeSpan RebuildTimeout = TimeSpan.FromSeconds(30);

    // Chains of three have a middle member, which passes the rows on and is itself rebuilt.
    public static IEnumerable<TestCaseData> Cases() =>
        from transport in TestCluster.OrderedTransports()
        from shape in new (int Servers, int Replicas)[] { (3, 2), (4, 2), (4, 3) }
        where transport != "shm" || shape == (3, 2)
        select new TestCaseData(transport, shape.Servers, shape.Replicas).SetName($"{{m}}({transport}, {shape.Servers} servers, {shape.Replicas} replicas)");

    [TestCaseSource(nameof(Cases))]
    public async Task AChainRebuiltAfterOneFailureSurvivesTheNextWithExactSums(string transport, int servers, int replicas)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers, workers: Workers, replicas: replicas);
        TableHandle sparse = await cluster.DeclareEverywhereAsync(TableSpec.Sparse("rebuild-sparse", 1, UpdaterKind.Sum));
        TableHandle dense = await cluster.DeclareEverywhereAsync(TableSpec.Dense("rebuild-dense", new KeyRange(0, DenseRows), 1, UpdaterKind.Sum));
        ulong[] pool = [.. Enumerable.Range(0, 2000).Select(i => (ulong)i * 0x9E3779B97F4A7C15UL).Distinct().Order()];
        var sparseModels = Enumerable.Range(0, Workers).Select(_ => new Dictionary<ulong, float>()).ToArray();
        var denseModels = Enumerable.Range(0, Workers).Select(_ => new float[DenseRows]).ToArray();

        using var started = new SemaphoreSlim(0);
        var lastKillAtRound = new int[Workers];
        int killsDone = 0;
        Task killer = Task.Run(async () =>
        {
            Assert.That(await started.WaitAsync(TimeSpan.FromSeconds(30)), Is.True, "pushes started");
            int firstDead = (int)NodeIds.Server(cluster.Servers[1].Rank);
            await cluster.KillServerAsync(1);
            await WaitForWholeChains(cluster, replicas, live: servers - 1, "after the first failure");
            RangeMap rebuilt = cluster.Workers[0].Map;
            TestContext.Out.WriteLine($"first rebuild: {cluster.Scheduler.LastRebuild.Ranges} ranges, {cluster.Scheduler.LastRebuild.Rows} rows in {cluster.Scheduler.LastRebuild.Seconds:F3} s (map {rebuilt.Version})");
            Assert.That(cluster.Scheduler.LastRebuild.Ranges, Is.GreaterThan(0), "ranges were copied");
            // The rebuilt chains are whole again, without the dead server.
            Assert.That(rebuilt.Tables.SelectMany(t => t.Ranges).All(a => a.Chain.Length == replicas && !a.Chain.Contains(firstDead)), Is.True,
                $"every chain has {replicas} live members after the rebuild");
            await cluster.KillServerAsync(2);
            if (servers - 2 >= 2)
                await WaitForWholeChains(cluster, replicas, live: servers - 2, "after the second failure");
            Volatile.Write(ref killsDone, 1);
        });
        await Bounded.Wait(Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            WorkerClient client = cluster.Workers[w];
            var random = new Random(70 + w);
            int lastKillRound = -1;
            for (int round = 0; round < MaxRounds; round++)
            {
                if (w == 0 && round == MinRounds / 3)
                    started.Release();
                if (lastKillRound < 0 && Volatile.Read(ref killsDone) == 1)
                    lastKillRound = round;
                if (round >= MinRounds && lastKillRound >= 0 && round >= lastKillRound + RoundsAfterLastKill)
                    break;
                if (killer.IsFaulted)
                    break;
                (ulong[] keys, float[] values, float[] row) = NextRound(random, pool, sparseModels[w], denseModels[w]);
                await Task.WhenAll(client.PushAsync(sparse, keys, values).AsTask(), client.PushRangeAsync(dense, new KeyRange(0, DenseRows), row).AsTask());
            }
            lastKillAtRound[w] = lastKillRound;
        }))), "every push acknowledged across two failures and a rebuild", TimeSpan.FromSeconds(120));
        await killer.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(lastKillAtRound, Has.All.GreaterThanOrEqualTo(0), "the second failure landed while the workers were pushing");

        float[] pulled = new float[pool.Length];
        await Bounded.Wait(cluster.Workers[0].PullAsync(sparse, pool, pulled, Delay.Eventual), "sparse pull after the failures");
        float[] densePulled = new float[DenseRows];
        await Bounded.Wait(cluster.Workers[1].PullRangeAsync(dense, new KeyRange(0, DenseRows), densePulled, Delay.Eventual), "dense pull after the failures");
        float[] denseExpected = new float[DenseRows];
        foreach (float[] m in denseModels)
        {
            for (int i = 0; i < DenseRows; i++)
                denseExpected[i] += m[i];
        }
        Assert.Multiple(() =>
        {
            for (int i = 0; i < pool.Length; i++)
                Assert.That(pulled[i], Is.EqualTo(sparseModels.Sum(m => m.GetValueOrDefault(pool[i]))), $"sparse key {pool[i]}");
            Assert.That(densePulled, Is.EqualTo(denseExpected), "dense rows");
        });
    }

    // One round of a worker's pushes, added to its own model of what it pushed.
    private static (ulong[] Keys, float[] Values, float[] Dense) NextRound(Random random, ulong[] pool, Dictionary<ulong, float> sparseModel, float[] denseModel)
    {
        ulong[] keys = [.. pool.Where(_ => random.Next(4) == 0)];
        float[] values = [.. keys.Select(_ => (float)random.Next(1, 5))];
        float[] dense = [.. Enumerable.Range(0, DenseRows).Select(_ => (float)random.Next(0, 3))];
        for (int i = 0; i < keys.Length; i++)
            sparseModel[keys[i]] = sparseModel.GetValueOrDefault(keys[i]) + values[i];
        for (int i = 0; i < DenseRows; i++)
            denseModel[i] += dense[i];
        return (keys, values, dense);
    }

    // Until the workers' map has every chain at min(replicas, live servers) members and no copy is pending.
    private static async Task WaitForWholeChains(TestCluster cluster, int replicas, int live, string when)
    {
        int wanted = Math.Min(replicas, live);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < RebuildTimeout)
        {
            RangeMap map = cluster.Workers[0].Map;
            if (map.Servers.Count == live && cluster.Scheduler.RebuildsPending == 0
                && map.Tables.SelectMany(t => t.Ranges).All(a => a.Chain.Length == wanted))
                return;
            await Task.Delay(20);
        }
        Assert.Fail($"the replica chains were not rebuilt {when} within {RebuildTimeout.TotalSeconds:0} s");
    }
}
