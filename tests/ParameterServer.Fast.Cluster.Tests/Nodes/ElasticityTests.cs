using System.Diagnostics;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using ParameterServer.Fast.Transport.Connections;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// Elasticity: a server joins a running job in the middle of concurrent pushes and ranges move to
/// it; then another server is drained out and stops. Requests that reach a server after its range
/// left are answered "moved" and resent under the new map with the same request id: every row
/// ends equal to the exact sum of all pushes (Sum updater, small integers).
/// </summary>
public sealed class ElasticityTests
{
    private const int Workers = 2;
    private const int DenseRows = 4096;
    private const int MaxRounds = 3000;
    private const int RoundsAfterDrain = 20;
    private static readonly TimeSpan ChangeTimeout = TimeSpan.FromSeconds(30);

    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.OrderedTransports))]
    public async Task AServerAddedThenOneDrainedDuringPushesKeepsExactSums(string transport)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 3, workers: Workers, replicas: 2);
        TableHandle sparse = await cluster.DeclareEverywhereAsync(TableSpec.Sparse("elastic-sparse", 1, UpdaterKind.Sum));
        TableHandle dense = await cluster.DeclareEverywhereAsync(TableSpec.Dense("elastic-dense", new KeyRange(0, DenseRows), 1, UpdaterKind.Sum));
        ulong[] pool = [.. Enumerable.Range(0, 2000).Select(i => (ulong)i * 0x9E3779B97F4A7C15UL).Distinct().Order()];
        var sparseModels = Enumerable.Range(0, Workers).Select(_ => new Dictionary<ulong, float>()).ToArray();
        var denseModels = Enumerable.Range(0, Workers).Select(_ => new float[DenseRows]).ToArray();
        await using var late = new ServerNode(cluster.Transport, LateListen(transport), cluster.Scheduler.Endpoint);

        using var started = new SemaphoreSlim(0);
        int changesDone = 0;
        int lateId = 0, drainedId = 0;
        RangeMap? afterAdd = null, afterDrain = null;
        Task changes = Task.Run(async () =>
        {
            Assert.That(await started.WaitAsync(TimeSpan.FromSeconds(30)), Is.True, "pushes started");
            using (var cts = new CancellationTokenSource(ChangeTimeout))
                await late.StartAsync(cts.Token);
            lateId = (int)NodeIds.Server(late.Rank);
            afterAdd = await WaitForSettled(cluster, m => m.Servers.Any(s => s.Id == lateId)
                && m.Tables.SelectMany(t => t.Ranges).Any(a => a.Primary == lateId), "after the server joined");
            ServerNode drained = cluster.Servers[0];
            drainedId = (int)NodeIds.Server(drained.Rank);
            await cluster.Scheduler.DrainAsync(drained.Rank).WaitAsync(ChangeTimeout);
            await drained.Stopped.WaitAsync(ChangeTimeout);
            afterDrain = await WaitForSettled(cluster, m => m.Servers.All(s => s.Id != drainedId), "after the drain");
            Volatile.Write(ref changesDone, 1);
        });
        var drainedAtRound = new int[Workers];
        await Bounded.Wait(Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            WorkerClient client = cluster.Workers[w];
            var random = new Random(90 + w);
            int doneRound = -1;
            for (int round = 0; round < MaxRounds && !changes.IsFaulted; round++)
            {
                if (w == 0 && round == 10)
                    started.Release();
                if (doneRound < 0 && Volatile.Read(ref changesDone) == 1)
                    doneRound = round;
                if (doneRound >= 0 && round >= doneRound + RoundsAfterDrain)
                    break;
                (ulong[] keys, float[] values, float[] row) = NextRound(random, pool, sparseModels[w], denseModels[w]);
                await Task.WhenAll(client.PushAsync(sparse, keys, values).AsTask(), client.PushRangeAsync(dense, new KeyRange(0, DenseRows), row).AsTask());
            }
            drainedAtRound[w] = doneRound;
        }))), "every push acknowledged across a join and a drain", TimeSpan.FromSeconds(120));
        await changes.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(drainedAtRound, Has.All.GreaterThanOrEqualTo(0), "both changes finished while the workers were pushing");

        int lateRanges = afterAdd!.Tables.SelectMany(t => t.Ranges).Count(a => a.Chain.Contains(lateId));
        TestContext.Out.WriteLine($"after the join: the new server holds {lateRanges} ranges ({afterAdd.Tables.SelectMany(t => t.Ranges).Count(a => a.Primary == lateId)} as primary), map {afterAdd.Version}; " +
            $"after the drain: map {afterDrain!.Version}; moved requests resent: {cluster.Workers.Sum(w => w.MovedRequests)}; " +
            $"last change {cluster.Scheduler.LastRebalance.Ranges} ranges, {cluster.Scheduler.LastRebalance.Rows} rows copied in {cluster.Scheduler.LastRebalance.Seconds:F3} s");
        Assert.That(afterDrain.Tables.SelectMany(t => t.Ranges).All(a => !a.Chain.Contains(drainedId) && a.Chain.Length == 2), Is.True,
            "no chain names the drained server and every chain has two members");

        float[] pulled = new float[pool.Length];
        await Bounded.Wait(cluster.Workers[0].PullAsync(sparse, pool, pulled, Delay.Eventual), "sparse pull after the changes");
        float[] densePulled = new float[DenseRows];
        await Bounded.Wait(cluster.Workers[1].PullRangeAsync(dense, new KeyRange(0, DenseRows), densePulled, Delay.Eventual), "dense pull after the changes");
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

    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.Transports))]
    public async Task APullHeldForARangeThatMovesAwayIsAnsweredFreshByItsNewServer(string transport)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 2, workers: 2, replicas: 2);
        TableHandle dense = await cluster.DeclareEverywhereAsync(TableSpec.Dense("held-dense", new KeyRange(0, DenseRows), 1, UpdaterKind.Sum));
        WorkerClient fast = cluster.Workers[0], slow = cluster.Workers[1];
        await Bounded.Wait(fast.AdvanceClockAsync(), "clock 1");
        await Bounded.Wait(slow.AdvanceClockAsync(), "clock 1");
        await Bounded.Wait(fast.AdvanceClockAsync(), "clock 2");
        RangeMap before = fast.Map;
        // Sequential consistency at clock 2: held at every primary until the slow worker reaches 2.
        float[] pulled = new float[DenseRows];
        Task pull = fast.PullRangeAsync(dense, new KeyRange(0, DenseRows), pulled, new Delay(0)).AsTask();
        await Task.Delay(200);
        Assert.That(pull.IsCompleted, Is.False, "the pull waits for the slow worker");

        await using var late = new ServerNode(cluster.Transport, LateListen(transport), cluster.Scheduler.Endpoint);
        using (var cts = new CancellationTokenSource(ChangeTimeout))
            await late.StartAsync(cts.Token);
        int lateId = (int)NodeIds.Server(late.Rank);
        RangeMap after = await WaitForSettled(cluster, m => m.Tables.SelectMany(t => t.Ranges).Any(a => a.Primary == lateId), "after the server joined");
        TableLayout oldLayout = before.Table(dense.Id)!, newLayout = after.Table(dense.Id)!;
        int left = newLayout.Ranges.Count(a => !a.Chain.Contains(oldLayout.Ranges[oldLayout.PartOf(a.Range.Begin)].Primary));
        Assert.That(left, Is.GreaterThan(0), "some range left the server that held its pull");

        await Bounded.Wait(slow.PushRangeAsync(dense, new KeyRange(0, DenseRows), Enumerable.Repeat(1f, DenseRows).ToArray()), "the slow worker's push");
        await Bounded.Wait(slow.AdvanceClockAsync(), "clock 2");
        await Bounded.Wait(pull, "the held pull", Bounded.Request);
        Assert.That(pulled, Has.All.EqualTo(1f), $"every row, {left} of whose ranges moved away, holds the push made before the slow worker's clock");
    }

    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.Transports))]
    public async Task AServerJoiningAJobWithoutReplicasIsRefusedWithTheReason(string transport)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 2, workers: 1, replicas: 1);
        await using var late = new ServerNode(cluster.Transport, LateListen(transport), cluster.Scheduler.Endpoint);
        using var cts = new CancellationTokenSource(ChangeTimeout);
        Exception refused = await Bounded.Failure(new ValueTask(late.StartAsync(cts.Token)), "a server joining a job without replicas");
        Assert.That(refused, Is.TypeOf<InvalidOperationException>());
        Assert.That(refused.Message, Does.Contain("--replicas 2 or more"));
        Exception drain = await Bounded.Failure(new ValueTask(cluster.Scheduler.DrainAsync(0)), "draining a job without replicas");
        Assert.That(drain.Message, Does.Contain("cannot drain server 0").And.Contain("--replicas 2 or more"));
    }

    private static Endpoint LateListen(string transport) => transport switch
    {
        "inproc" => Endpoint.Parse($"inproc://late-{Guid.NewGuid():N}"),
        "shm" => Endpoint.Parse($"shm://psf-test-late-{Guid.NewGuid():N}"),
        _ => Endpoint.Parse("tcp://127.0.0.1:0"),
    };

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

    // Until the workers' map satisfies `done` and the scheduler has no membership change running.
    private static async Task<RangeMap> WaitForSettled(TestCluster cluster, Func<RangeMap, bool> done, string when)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < ChangeTimeout)
        {
            RangeMap map = cluster.Workers[0].Map;
            if (!cluster.Scheduler.Rebalancing && done(map))
                return map;
            await Task.Delay(20);
        }
        Assert.Fail($"the ranges did not settle {when} within {ChangeTimeout.TotalSeconds:0} s");
        throw new InvalidOperationException("unreachable");
    }
}
