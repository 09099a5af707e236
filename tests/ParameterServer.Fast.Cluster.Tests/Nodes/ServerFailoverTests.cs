using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// Chain replication and failover: with every range on two servers, a server dies in the middle
/// of concurrent pushes; the scheduler drops it from its chains, workers resend what it never
/// acknowledged to the new primaries, and — with the Sum updater and small integer values, so
/// float addition is exact in any order — every row ends equal to the sum of all pushes: no
/// acknowledged update lost, none applied twice.
/// </summary>
public sealed class ServerFailoverTests
{
    private const int Workers = 2;
    private const int Rounds = 60;

    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.Transports))]
    public async Task AServerDyingMidJobLosesNoUpdateAndAppliesNoneTwice(string transport)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 3, workers: Workers, replicas: 2);
        TableHandle sparse = await cluster.DeclareEverywhereAsync(TableSpec.Sparse("failover-sparse", 1, UpdaterKind.Sum));
        TableHandle dense = await cluster.DeclareEverywhereAsync(TableSpec.Dense("failover-dense", new KeyRange(0, 4096), 1, UpdaterKind.Sum));
        ulong[] pool = [.. Enumerable.Range(0, 2000).Select(i => (ulong)i * 0x9E3779B97F4A7C15UL).Distinct().Order()];
        var sparseModel = new Dictionary<ulong, float>();
        float[] denseModel = new float[4096];
        var plans = Enumerable.Range(0, Workers).Select(w => Plan(new Random(50 + w), pool)).ToArray();
        foreach (var plan in plans)
        {
            foreach ((ulong[] keys, float[] values) in plan.Sparse)
            {
                for (int i = 0; i < keys.Length; i++)
                    sparseModel[keys[i]] = sparseModel.GetValueOrDefault(keys[i]) + values[i];
            }
            foreach (float[] values in plan.Dense)
            {
                for (int i = 0; i < values.Length; i++)
                    denseModel[i] += values[i];
            }
        }

        using var halfway = new SemaphoreSlim(0);
        Task killer = Task.Run(async () =>
        {
            await halfway.WaitAsync(TimeSpan.FromSeconds(30));
            await cluster.KillServerAsync(1);
        });
        await Bounded.Wait(Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            WorkerClient client = cluster.Workers[w];
            for (int round = 0; round < Rounds; round++)
            {
                if (w == 0 && round == Rounds / 3)
                    halfway.Release();
                await Task.WhenAll(
                    client.PushAsync(sparse, plans[w].Sparse[round].Keys, plans[w].Sparse[round].Values).AsTask(),
                    client.PushRangeAsync(dense, new KeyRange(0, 4096), plans[w].Dense[round]).AsTask());
            }
        }))), "every push acknowledged across the failover", TimeSpan.FromSeconds(60));
        await killer.WaitAsync(TimeSpan.FromSeconds(10));

        float[] pulled = new float[pool.Length];
        await Bounded.Wait(cluster.Workers[0].PullAsync(sparse, pool, pulled, Delay.Eventual), "pull after failover");
        float[] densePulled = new float[4096];
        await Bounded.Wait(cluster.Workers[1].PullRangeAsync(dense, new KeyRange(0, 4096), densePulled, Delay.Eventual), "dense pull after failover");
        Assert.Multiple(() =>
        {
            for (int i = 0; i < pool.Length; i++)
                Assert.That(pulled[i], Is.EqualTo(sparseModel.GetValueOrDefault(pool[i])), $"sparse key {pool[i]}");
            Assert.That(densePulled, Is.EqualTo(denseModel), "dense rows");
        });
        TestContext.Out.WriteLine($"recovery seen by the workers: {cluster.Workers[0].RecoverySeconds:F3} s, {cluster.Workers[1].RecoverySeconds:F3} s");
    }

    private static (List<(ulong[] Keys, float[] Values)> Sparse, List<float[]> Dense) Plan(Random random, ulong[] pool)
    {
        var sparse = new List<(ulong[], float[])>();
        var dense = new List<float[]>();
        for (int r = 0; r < Rounds; r++)
        {
            ulong[] keys = [.. pool.Where(_ => random.Next(4) == 0)];
            sparse.Add((keys, [.. keys.Select(_ => (float)random.Next(1, 5))]));
            dense.Add([.. Enumerable.Range(0, 4096).Select(_ => (float)random.Next(0, 3))]);
        }
        return (sparse, dense);
    }
}
