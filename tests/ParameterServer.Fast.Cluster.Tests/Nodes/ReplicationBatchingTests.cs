using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// Replication after aggregation: a primary that has pushes queued sends the rows they touched
/// down the chain in batches of at most N pushes, and every replica ends with the primary's exact
/// state — weights and updater state bit for bit — even for an updater whose result depends on
/// the order of pushes (Adam), since replicas copy state instead of re-applying gradients.
/// </summary>
public sealed class ReplicationBatchingTests
{
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(20);

    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.Transports))]
    public async Task PushesQueuedAtAPrimaryGoDownTheChainInBatchesOfAtMostN(string transport)
    {
        const int Batch = 8, Pushes = 20;
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 2, workers: 1, replicas: 2, replicationBatch: Batch);
        TableHandle table = await cluster.DeclareEverywhereAsync(TableSpec.Dense("batched", new KeyRange(0, 64), 1, UpdaterKind.Sum));
        RangeAssignment part = cluster.Workers[0].Map.Table(table.Id)!.Ranges[0];
        ServerNode primary = cluster.Servers.Single(s => (int)NodeIds.Server(s.Rank) == part.Primary);
        ServerNode backup = cluster.Servers.Single(s => s != primary);
        var pushed = new KeyRange(part.Range.Begin, part.Range.Begin + Math.Min(part.Range.Size, 16));
        float[] expected = new float[pushed.Size];

        // Hold the primary's inbox so the pushes queue behind it, then let them all run at once.
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        Task<bool> held = Task.Run(() => primary.OnInboxAsync(() =>
        {
            entered.Set();
            return release.Wait(Hold);
        }));
        Assert.That(entered.Wait(Hold), Is.True, "the primary's inbox is held");
        long framesBefore = primary.ReplicateFramesSent;
        var pushes = new List<Task>();
        for (int p = 0; p < Pushes; p++)
        {
            float[] values = [.. Enumerable.Range(0, (int)pushed.Size).Select(i => (float)((p + i) % 5))];
            for (int i = 0; i < values.Length; i++)
                expected[i] += values[i];
            pushes.Add(cluster.Workers[0].PushRangeAsync(table, pushed, values).AsTask());
        }
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (primary.InboxDepth < Pushes && waited.Elapsed < Hold)
            await Task.Delay(5);
        Assert.That(primary.InboxDepth, Is.GreaterThanOrEqualTo(Pushes), "every push is queued at the primary");
        release.Set();
        Assert.That(await held, Is.True, "the inbox was held until released");
        await Bounded.Wait(Task.WhenAll(pushes), "every push acknowledged", Hold);

        long frames = await primary.OnInboxAsync(() => primary.ReplicateFramesSent) - framesBefore;
        float[] replica = await backup.OnInboxAsync(() => ReadRows(backup, table.Id, pushed));
        Assert.Multiple(() =>
        {
            Assert.That(frames, Is.EqualTo((Pushes + Batch - 1) / Batch), $"{Pushes} queued pushes replicated in batches of {Batch}");
            Assert.That(replica, Is.EqualTo(expected), "the backup holds the sum of every push");
        });
    }

    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.Transports))]
    public async Task EveryReplicaHoldsThePrimarysExactStateUnderConcurrentAdamPushes(string transport)
    {
        const int Workers = 3, Rounds = 30, InFlight = 8;
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 3, workers: Workers, replicas: 3, replicationBatch: 4);
        TableHandle sparse = await cluster.DeclareEverywhereAsync(TableSpec.Sparse("adam-sparse", 3, UpdaterKind.Adam));
        TableHandle dense = await cluster.DeclareEverywhereAsync(TableSpec.Dense("adam-dense", new KeyRange(0, 3000), 2, UpdaterKind.Adam));
        ulong[] pool = [.. Enumerable.Range(0, 1500).Select(i => (ulong)i * 0x9E3779B97F4A7C15UL).Distinct().Order()];

        await Bounded.Wait(Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(900 + w);
            WorkerClient client = cluster.Workers[w];
            var inFlight = new List<Task>();
            for (int round = 0; round < Rounds; round++)
            {
                ulong[] keys = [.. pool.Where(_ => random.Next(3) == 0)];
                inFlight.Add(client.PushAsync(sparse, keys, Gradients(random, keys.Length * 3)).AsTask());
                ulong begin = (ulong)random.Next(0, 2000);
                var range = new KeyRange(begin, begin + (ulong)random.Next(1, 1000));
                inFlight.Add(client.PushRangeAsync(dense, range, Gradients(random, (int)range.Size * 2)).AsTask());
                if (inFlight.Count >= InFlight)
                {
                    await Task.WhenAll(inFlight);
                    inFlight.Clear();
                }
            }
            await Task.WhenAll(inFlight);
        }))), "every push acknowledged", TimeSpan.FromSeconds(60));

        long frames = 0;
        foreach (ServerNode server in cluster.Servers)
            frames += await server.OnInboxAsync(() => server.ReplicateFramesSent);
        RangeMap map = cluster.Workers[0].Map;
        foreach ((TableHandle table, ulong[]? keys) in new[] { (sparse, (ulong[]?)pool), (dense, null) })
        {
            foreach (RangeAssignment part in map.Table(table.Id)!.Ranges)
            {
                ServerNode primary = ServerOf(cluster, part.Primary);
                float[] want = await primary.OnInboxAsync(() => ReadState(primary, table.Id, part.Range, keys));
                foreach (int member in part.Chain.Skip(1))
                {
                    ServerNode replica = ServerOf(cluster, member);
                    float[] got = await replica.OnInboxAsync(() => ReadState(replica, table.Id, part.Range, keys));
                    Assert.That(Bits(got), Is.EqualTo(Bits(want)), $"table {table.Id}, range {part.Range}: server {replica.Rank} holds server {primary.Rank}'s state");
                }
            }
        }
        TestContext.Out.WriteLine($"{Workers * Rounds * 2} pushes, {frames} replicate frames sent down the chains");
    }

    private static ServerNode ServerOf(TestCluster cluster, int nodeId) => cluster.Servers.Single(s => (int)NodeIds.Server(s.Rank) == nodeId);

    private static float[] Gradients(Random random, int count) => [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2) - 1))];

    private static Table PartHolding(ServerNode server, uint tableId, KeyRange range) =>
        server.HeldParts(tableId).Single(p => p.Range.Contains(range)).Table;

    private static float[] ReadRows(ServerNode server, uint tableId, KeyRange range)
    {
        float[] values = new float[range.Size];
        ulong[] keys = [.. Enumerable.Range(0, (int)range.Size).Select(i => range.Begin + (ulong)i)];
        PartHolding(server, tableId, range).Pull(keys, values);
        return values;
    }

    // Weights and updater state of every row of the range (dense) or of the pool's keys in it (sparse).
    private static float[] ReadState(ServerNode server, uint tableId, KeyRange range, ulong[]? pool)
    {
        Table part = PartHolding(server, tableId, range);
        if (pool is null)
        {
            float[] rows = new float[part.RowFloats((long)range.Size)];
            part.CopyRowsOut(range, rows);
            return rows;
        }
        ulong[] keys = [.. pool.Where(range.Contains)];
        float[] state = new float[part.RowFloats(keys.Length)];
        part.CopyRowsOut(keys, state);
        return state;
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];
}
