using ParameterServer.Fast.Cluster.Checkpoints;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Tests.Nodes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Tables.Snapshots;
using ParameterServer.Fast.Core.Updaters;
using ParameterServer.Fast.Transport.Connections;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Checkpoints;

/// <summary>
/// Checkpoints taken by a running job are consistent cuts: the checkpoint at clock c holds exactly
/// the Sum of every push every worker made in its iterations 0 … c−1, however far bounded delay
/// lets the workers drift apart, with or without replicas; and a job resumed from it starts with
/// exactly that state, every worker at clock c. Values are small integers, so float sums are exact
/// in any order and the comparisons are equalities.
/// </summary>
public sealed class ClusterCheckpointTests
{
    private const int Workers = 3;
    private const int Iterations = 10;
    private const int Every = 3;
    private const int Width = 2;
    private const int PoolSize = 600;
    private static readonly KeyRange DenseRange = new(0, 5000);

    private static IEnumerable<TestCaseData> Jobs() =>
    [
        new("inproc", 3, 1, 1),
        new("inproc", 3, 2, 2),
        new("tcp", 2, 1, 0),
        new("tcp", 3, 2, 1),
    ];

    [TestCaseSource(nameof(Jobs)), CancelAfter(120_000)]
    public async Task ACheckpointHoldsExactlyThePushesOfTheIterationsBeforeItsClock(string transport, int servers, int replicas, int tau)
    {
        string root = Path.Combine(Path.GetTempPath(), $"psf-ckpt-{Guid.NewGuid():N}");
        try
        {
            Plan plan = Plan.Make(seed: 11 + servers + tau);
            var policy = new CheckpointPolicy { Directory = root, Every = Every, Keep = 10 };
            await using (TestCluster cluster = await TestCluster.StartAsync(transport, servers, Workers, replicas, policy))
            {
                (TableHandle sparse, TableHandle dense) = await DeclareAsync(cluster);
                await Bounded.Wait(Task.WhenAll(cluster.Workers.Select(w => Task.Run(() => RunAsync(w, sparse, dense, plan, tau, first: 0)))),
                    "every worker's iterations", TimeSpan.FromSeconds(60));
                Assert.That(cluster.Workers.Select(w => w.CheckpointsCommitted), Is.All.EqualTo(Iterations / Every), "every worker saw each checkpoint committed");
            }

            AssertEveryCheckpointExact(root, plan, servers);
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    // A server joins once the first checkpoint is committed, while the workers go on and ranges
    // move to it. A checkpoint the map changed under is given up, saying so (its cut could split a
    // range between its old and new primary); every other one must hold every push before its
    // clock exactly once, including one taken after the join, with the ranges in their new places.
    [TestCase("inproc"), TestCase("tcp"), CancelAfter(120_000)]
    public async Task CheckpointsAroundAServerJoiningAreExactOrGivenUpForTheMapChange(string transport)
    {
        const int Servers = 3, PaceMs = 40;
        string root = Path.Combine(Path.GetTempPath(), $"psf-ckpt-{Guid.NewGuid():N}");
        try
        {
            Plan plan = Plan.Make(seed: 77);
            var policy = new CheckpointPolicy { Directory = root, Every = Every, Keep = 10 };
            var committed = new System.Collections.Concurrent.ConcurrentQueue<long>();
            var givenUp = new System.Collections.Concurrent.ConcurrentQueue<(long Clock, string Why)>();
            long joinedAt = -1;
            await using (TestCluster cluster = await TestCluster.StartAsync(transport, Servers, Workers, replicas: 2, policy))
            {
                cluster.Scheduler.CheckpointCommitted += (clock, _, _) => committed.Enqueue(clock);
                cluster.Scheduler.CheckpointGivenUp += (clock, why) => givenUp.Enqueue((clock, why));
                (TableHandle sparse, TableHandle dense) = await DeclareAsync(cluster);
                Endpoint listen = transport == "inproc" ? Endpoint.Parse($"inproc://late-{Guid.NewGuid():N}") : Endpoint.Parse("tcp://127.0.0.1:0");
                await using var late = new ServerNode(cluster.Transport, listen, cluster.Scheduler.Endpoint);
                Task join = Task.Run(async () =>
                {
                    var waited = System.Diagnostics.Stopwatch.StartNew();
                    while (committed.IsEmpty && waited.Elapsed < TimeSpan.FromSeconds(30))
                        await Task.Delay(5);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    await late.StartAsync(cts.Token);
                    Volatile.Write(ref joinedAt, cluster.Workers.Min(w => w.Clock));
                });
                await Bounded.Wait(Task.WhenAll(cluster.Workers.Select(w => Task.Run(() => RunAsync(w, sparse, dense, plan, tau: 1, first: 0, PaceMs)))),
                    "every worker's iterations", TimeSpan.FromSeconds(60));
                await Bounded.Wait(join, "the server's join", TimeSpan.FromSeconds(30));
                Assert.That(cluster.Workers[0].Map.Tables.SelectMany(t => t.Ranges).Any(a => a.Chain.Contains((int)NodeIds.Server(late.Rank))), Is.True,
                    "ranges moved to the server that joined");
            }
            TestContext.Out.WriteLine($"joined by clock {joinedAt}; committed at {string.Join(", ", committed)}; given up: {string.Join("; ", givenUp.Select(g => $"{g.Clock}: {g.Why}"))}");
            Assert.That(givenUp.Select(g => g.Why), Has.All.Contains("range map changed"), "a checkpoint is given up only for the map change");
            Assert.That(committed.Concat(givenUp.Select(g => g.Clock)).Order(), Is.EqualTo(new long[] { 3, 6, 9 }), "every checkpoint is committed or given up");
            Assert.That(committed.Any(c => c > joinedAt), Is.True, "a checkpoint after the join is committed");
            AssertCheckpointsExact(root, plan, [.. committed], servers: null);
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    // The checkpoints at the given clocks (by default every one of the job), each holding exactly
    // the plan's pushes before its clock; one file per server that wrote (any number when servers joined).
    private static void AssertEveryCheckpointExact(string root, Plan plan, int servers)
    {
        long[] expectedClocks = [.. Enumerable.Range(1, Iterations / Every).Select(i => (long)(i * Every)).Reverse()];
        Assert.That(new CheckpointStore(root).Clocks(), Is.EqualTo(expectedClocks));
        AssertCheckpointsExact(root, plan, expectedClocks, servers);
    }

    private static void AssertCheckpointsExact(string root, Plan plan, long[] clocks, int? servers)
    {
        var store = new CheckpointStore(root);
        foreach (long clock in clocks)
        {
            CheckpointManifest manifest = store.Validate(clock);
            if (servers is int count)
                Assert.That(manifest.Files, Has.Count.EqualTo(count), "one file per server");
            (Dictionary<ulong, float[]> sparseRows, float[] denseRows) = ReadCheckpoint(store.FolderOf(clock), manifest);
            (Dictionary<ulong, float[]> sparseWant, float[] denseWant) = plan.SumBefore(clock);
            Assert.That(sparseRows.Keys.Order(), Is.EqualTo(sparseWant.Keys.Order()), $"clock {clock}: the sparse keys pushed before it, each once");
            foreach ((ulong key, float[] want) in sparseWant)
                Assert.That(sparseRows[key], Is.EqualTo(want), $"clock {clock}: sparse key {key}");
            Assert.That(denseRows, Is.EqualTo(denseWant), $"clock {clock}: the dense table");
        }
    }

    [TestCase("inproc", 3, 1), TestCase("tcp", 3, 2), CancelAfter(120_000)]
    public async Task AResumedJobStartsFromTheCheckpointsStateAndClock(string transport, int servers, int replicas)
    {
        string root = Path.Combine(Path.GetTempPath(), $"psf-resume-{Guid.NewGuid():N}");
        try
        {
            Plan plan = Plan.Make(seed: 5);
            await using (TestCluster first = await TestCluster.StartAsync(transport, servers, Workers, replicas, new CheckpointPolicy { Directory = root, Every = Every }))
            {
                (TableHandle sparse, TableHandle dense) = await DeclareAsync(first);
                await Bounded.Wait(Task.WhenAll(first.Workers.Select(w => Task.Run(() => RunAsync(w, sparse, dense, plan, tau: 1, first: 0)))),
                    "the first job's iterations", TimeSpan.FromSeconds(60));
            }
            CheckpointSearch resume = CheckpointPolicy.FindResumePoint(root);
            long clock = resume.Found!.Clock;
            Assert.That(clock, Is.EqualTo(Iterations / Every * Every), "the newest checkpoint is the one resumed");
            Assert.That(new CheckpointStore(root).Clocks(), Has.Count.EqualTo(2), "the default keeps the newest two");

            var policy = new CheckpointPolicy { Directory = root, Every = Every, Resume = resume };
            await using TestCluster second = await TestCluster.StartAsync(transport, servers, Workers, replicas, policy);
            Assert.That(second.Workers.Select(w => w.Clock), Is.All.EqualTo(clock), "every worker starts at the checkpoint's clock");
            (TableHandle sparse2, TableHandle dense2) = await DeclareAsync(second);
            (Dictionary<ulong, float[]> sparseWant, float[] denseWant) = plan.SumBefore(clock);
            WorkerClient reader = second.Workers[0];
            var pulled = new float[plan.Pool.Length * Width];
            var pulledDense = new float[(int)DenseRange.Size];
            // Sequential consistency at the resumed clock: answered at once, since the servers start every worker there.
            await Bounded.Wait(reader.PullAsync(sparse2, plan.Pool, pulled, Delay.Sequential), "sparse pull after resuming");
            await Bounded.Wait(reader.PullRangeAsync(dense2, DenseRange, pulledDense, Delay.Sequential), "dense pull after resuming");
            for (int k = 0; k < plan.Pool.Length; k++)
            {
                float[] want = sparseWant.TryGetValue(plan.Pool[k], out float[]? row) ? row : new float[Width];
                Assert.That(pulled.AsSpan(k * Width, Width).ToArray(), Is.EqualTo(want), $"sparse key {plan.Pool[k]}");
            }
            Assert.That(pulledDense, Is.EqualTo(denseWant), "the dense table");
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task ACheckpointThatCannotBeWrittenIsGivenUpAndTheJobGoesOn()
    {
        // The checkpoint root is a file: no server can make its folder.
        string root = Path.Combine(Path.GetTempPath(), $"psf-notadir-{Guid.NewGuid():N}");
        File.WriteAllText(root, "not a folder");
        try
        {
            Plan plan = Plan.Make(seed: 3);
            var givenUp = new List<(long Clock, string Why)>();
            await using TestCluster cluster = await TestCluster.StartAsync("inproc", 2, Workers, 1, new CheckpointPolicy { Directory = root, Every = Every });
            cluster.Scheduler.CheckpointGivenUp += (clock, why) => { lock (givenUp) givenUp.Add((clock, why)); };
            (TableHandle sparse, TableHandle dense) = await DeclareAsync(cluster);
            await Bounded.Wait(Task.WhenAll(cluster.Workers.Select(w => Task.Run(() => RunAsync(w, sparse, dense, plan, tau: 1, first: 0)))),
                "every worker's iterations", TimeSpan.FromSeconds(60));
            Assert.That(cluster.Workers.Select(w => w.CheckpointsCommitted), Is.All.Zero);
            lock (givenUp)
            {
                Assert.That(givenUp.Select(g => g.Clock), Is.EqualTo(new long[] { 3, 6, 9 }), "each checkpoint was tried and given up");
                Assert.That(givenUp[0].Why, Does.Contain("server").And.Contain(root), "the reason names the server and the path");
            }
            // Nothing was lost on the way: the servers hold every push.
            (Dictionary<ulong, float[]> sparseWant, float[] denseWant) = plan.SumBefore(Iterations);
            var pulledDense = new float[(int)DenseRange.Size];
            await Bounded.Wait(cluster.Workers[0].PullRangeAsync(dense, DenseRange, pulledDense, Delay.Eventual), "dense pull");
            Assert.That(pulledDense, Is.EqualTo(denseWant));
            var pulled = new float[plan.Pool.Length * Width];
            await Bounded.Wait(cluster.Workers[0].PullAsync(sparse, plan.Pool, pulled, Delay.Eventual), "sparse pull");
            for (int k = 0; k < plan.Pool.Length; k++)
                Assert.That(pulled.AsSpan(k * Width, Width).ToArray(), Is.EqualTo(sparseWant.TryGetValue(plan.Pool[k], out float[]? row) ? row : new float[Width]));
        }
        finally
        {
            File.Delete(root);
        }
    }

    private static async Task<(TableHandle Sparse, TableHandle Dense)> DeclareAsync(TestCluster cluster) =>
        (await cluster.DeclareEverywhereAsync(TableSpec.Sparse("ckpt-sparse", Width, UpdaterKind.Sum)),
         await cluster.DeclareEverywhereAsync(TableSpec.Dense("ckpt-dense", DenseRange, 1, UpdaterKind.Sum)));

    // One worker's iterations: its pushes go out without waiting for their acks (the checkpoint
    // must wait for them), every other iteration pulls under bounded delay τ, and the workers run
    // at different speeds so they drift as far apart as τ lets them.
    private static async Task RunAsync(WorkerClient client, TableHandle sparse, TableHandle dense, Plan plan, int tau, long first, int paceMs = 0)
    {
        var inFlight = new List<Task>();
        var rng = new Random(client.Rank);
        var pulled = new float[plan.Pool.Length * Width];
        for (long i = first; i < Iterations; i++)
        {
            (ulong[] keys, float[] values, KeyRange range, float[] denseValues) = plan.Pushes[client.Rank][i];
            inFlight.Add(client.PushAsync(sparse, keys, values).AsTask());
            inFlight.Add(client.PushRangeAsync(dense, range, denseValues).AsTask());
            if (i % 2 == 1)
                await client.PullAsync(sparse, plan.Pool, pulled, new Delay(tau));
            await Task.Delay(paceMs + rng.Next(0, 3 * (client.Rank + 1)));
            await client.AdvanceClockAsync();
            inFlight.RemoveAll(t => t.IsCompletedSuccessfully);
        }
        await Task.WhenAll(inFlight);
        await client.FinishIterationsAsync();
    }

    // Every row of the checkpoint's files, read back; a key in two files would be counted twice
    // and caught by the comparison.
    private static (Dictionary<ulong, float[]> Sparse, float[] Dense) ReadCheckpoint(string folder, CheckpointManifest manifest)
    {
        var sparse = new Dictionary<ulong, float[]>();
        var dense = new float[(int)DenseRange.Size];
        var denseSeen = new int[(int)DenseRange.Size];
        foreach (CheckpointFileInfo file in manifest.Files)
        {
            using RestoredCheckpoint restored = CheckpointReader.Restore(Path.Combine(folder, file.FileName));
            Assert.That(restored.Header.Clock, Is.EqualTo(manifest.Clock));
            foreach (Table table in restored.Tables)
            {
                var block = RowBlock.For(table);
                TableRowReader reader = table.ExportRows();
                while (reader.Read(block) > 0)
                {
                    for (int r = 0; r < block.Count; r++)
                    {
                        ulong key = block.Keys[r];
                        float[] row = block.Weights.Slice(r * table.Width, table.Width).ToArray();
                        if (table.Name == "ckpt-dense")
                        {
                            dense[key] = row[0];
                            denseSeen[key]++;
                        }
                        else
                        {
                            Assert.That(sparse.TryAdd(key, row), Is.True, $"sparse key {key} is in one file only");
                        }
                    }
                }
            }
        }
        Assert.That(denseSeen, Is.All.EqualTo(1), "every dense key is in exactly one file");
        return (sparse, dense);
    }

    /// <summary>What each worker pushes in each iteration, and the Sum of it before a clock.</summary>
    private sealed record Plan(ulong[] Pool, (ulong[] Keys, float[] Values, KeyRange Range, float[] Dense)[][] Pushes)
    {
        public static Plan Make(int seed)
        {
            var rng = new Random(seed);
            var pool = new SortedSet<ulong>();
            while (pool.Count < PoolSize)
                pool.Add((ulong)rng.NextInt64(long.MinValue, long.MaxValue));
            ulong[] keys = [.. pool];
            var pushes = new (ulong[], float[], KeyRange, float[])[Workers][];
            for (int w = 0; w < Workers; w++)
            {
                pushes[w] = new (ulong[], float[], KeyRange, float[])[Iterations];
                for (int i = 0; i < Iterations; i++)
                {
                    ulong[] k = [.. Enumerable.Range(0, 1 + rng.Next(PoolSize / 4)).Select(_ => keys[rng.Next(keys.Length)]).Distinct().Order()];
                    ulong begin = (ulong)rng.Next((int)DenseRange.Size);
                    ulong end = begin + 1 + (ulong)rng.Next((int)(DenseRange.End - begin));
                    pushes[w][i] = (k, SmallIntegers(rng, k.Length * Width), new KeyRange(begin, end), SmallIntegers(rng, (int)(end - begin)));
                }
            }
            return new Plan(keys, pushes);
        }

        public (Dictionary<ulong, float[]> Sparse, float[] Dense) SumBefore(long clock)
        {
            var sparse = new Dictionary<ulong, float[]>();
            var dense = new float[(int)DenseRange.Size];
            foreach (var worker in Pushes)
            {
                for (int i = 0; i < clock; i++)
                {
                    (ulong[] keys, float[] values, KeyRange range, float[] denseValues) = worker[i];
                    for (int k = 0; k < keys.Length; k++)
                    {
                        if (!sparse.TryGetValue(keys[k], out float[]? row))
                            sparse[keys[k]] = row = new float[Width];
                        for (int c = 0; c < Width; c++)
                            row[c] += values[(k * Width) + c];
                    }
                    for (ulong key = range.Begin; key < range.End; key++)
                        dense[key] += denseValues[key - range.Begin];
                }
            }
            return (sparse, dense);
        }

        private static float[] SmallIntegers(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => (float)rng.Next(-4, 5))];
    }
}
