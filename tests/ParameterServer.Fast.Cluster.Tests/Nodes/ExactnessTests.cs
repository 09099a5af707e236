using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// Concurrent pushes from many workers through the Sum updater lose nothing and count nothing
/// twice: once every push is acknowledged, every row equals a single-threaded sum of the same
/// pushes. Values are small integers, so float addition is exact in any order.
/// </summary>
public sealed class ExactnessTests
{
    private const int Workers = 4;
    private const int PushesPerWorker = 25;
    private const int Width = 3;
    private const int PoolSize = 3000;
    private static readonly KeyRange DenseRange = new(0, 20_000);

    private static IEnumerable<TestCaseData> Jobs() =>
        from transport in TestCluster.Transports()
        from servers in new[] { 1, 3 }
        select new TestCaseData(transport, servers);

    [TestCaseSource(nameof(Jobs))]
    public async Task ConcurrentPushesSumExactlyInSparseAndDenseTables(string transport, int servers)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers, Workers);
        TableHandle sparse = await cluster.DeclareEverywhereAsync(TableSpec.Sparse("sparse-sum", Width, UpdaterKind.Sum));
        TableHandle dense = await cluster.DeclareEverywhereAsync(TableSpec.Dense("dense-sum", DenseRange, 1, UpdaterKind.Sum));

        // Keys spread over all of 2^64 so every server holds some of them.
        ulong[] pool = KeyPool(seed: 7);
        var sparsePushes = new List<(ulong[] Keys, float[] Values)>[Workers];
        var densePushes = new List<(KeyRange Range, float[] Values)>[Workers];
        for (int w = 0; w < Workers; w++)
            (sparsePushes[w], densePushes[w]) = Plan(new Random(1000 + w), pool);

        await Bounded.Wait(Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            WorkerClient client = cluster.Workers[w];
            // A few requests in flight at once per worker, as an application would have.
            var inFlight = new List<Task>();
            for (int i = 0; i < PushesPerWorker; i++)
            {
                inFlight.Add(client.PushAsync(sparse, sparsePushes[w][i].Keys, sparsePushes[w][i].Values).AsTask());
                inFlight.Add(client.PushRangeAsync(dense, densePushes[w][i].Range, densePushes[w][i].Values).AsTask());
                if (inFlight.Count >= 8)
                {
                    await Task.WhenAll(inFlight);
                    inFlight.Clear();
                }
            }
            await Task.WhenAll(inFlight);
        }))), "every push acknowledged", TimeSpan.FromSeconds(30));

        (Dictionary<ulong, float[]> sparseModel, float[] denseModel) = Model(sparsePushes, densePushes);
        float[] pulled = new float[pool.Length * Width];
        float[] pulledDense = new float[(int)DenseRange.Size];
        WorkerClient reader = cluster.Workers[Workers - 1];
        await Bounded.Wait(reader.PullAsync(sparse, pool, pulled, Delay.Eventual), "sparse pull");
        await Bounded.Wait(reader.PullRangeAsync(dense, DenseRange, pulledDense, Delay.Eventual), "dense pull");

        int pushedKeys = 0;
        for (int k = 0; k < pool.Length; k++)
        {
            float[] want = sparseModel.TryGetValue(pool[k], out float[]? sum) ? sum : new float[Width];
            pushedKeys += sum is null ? 0 : 1;
            Assert.That(pulled.AsSpan(k * Width, Width).ToArray(), Is.EqualTo(want), $"sparse key {pool[k]}");
        }
        Assert.That(pulledDense, Is.EqualTo(denseModel), "dense table");
        Assert.That(pushedKeys, Is.GreaterThan(PoolSize / 2), "the plan touches most keys");
        Assert.That(cluster.Servers.Sum(s => s.PushesApplied), Is.GreaterThanOrEqualTo(2L * Workers * PushesPerWorker));
        if (servers > 1)
            Assert.That(cluster.Servers.Select(s => s.PushesApplied), Is.All.GreaterThan(0L), "every server took part");
    }

    private static ulong[] KeyPool(int seed)
    {
        var rng = new Random(seed);
        var keys = new SortedSet<ulong>();
        while (keys.Count < PoolSize)
            keys.Add((ulong)rng.NextInt64(long.MinValue, long.MaxValue) % ulong.MaxValue);
        return [.. keys];
    }

    private static (List<(ulong[], float[])>, List<(KeyRange, float[])>) Plan(Random rng, ulong[] pool)
    {
        var sparse = new List<(ulong[], float[])>();
        var dense = new List<(KeyRange, float[])>();
        for (int i = 0; i < PushesPerWorker; i++)
        {
            // Random sizes, from a single key to a third of the pool.
            int size = 1 + rng.Next(rng.Next(2) == 0 ? 10 : PoolSize / 3);
            ulong[] keys = [.. Enumerable.Range(0, size).Select(_ => pool[rng.Next(pool.Length)]).Distinct().Order()];
            sparse.Add((keys, SmallIntegers(rng, keys.Length * Width)));

            ulong begin = (ulong)rng.Next((int)DenseRange.Size);
            ulong end = begin + 1 + (ulong)rng.Next((int)(DenseRange.End - begin));
            dense.Add((new KeyRange(begin, end), SmallIntegers(rng, (int)(end - begin))));
        }
        return (sparse, dense);
    }

    private static float[] SmallIntegers(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => (float)rng.Next(-4, 5))];

    private static (Dictionary<ulong, float[]>, float[]) Model(List<(ulong[] Keys, float[] Values)>[] sparse, List<(KeyRange Range, float[] Values)>[] dense)
    {
        var sums = new Dictionary<ulong, float[]>();
        var denseSums = new float[(int)DenseRange.Size];
        for (int w = 0; w < Workers; w++)
        {
            foreach ((ulong[] keys, float[] values) in sparse[w])
            {
                for (int k = 0; k < keys.Length; k++)
                {
                    if (!sums.TryGetValue(keys[k], out float[]? row))
                        sums[keys[k]] = row = new float[Width];
                    for (int c = 0; c < Width; c++)
                        row[c] += values[(k * Width) + c];
                }
            }
            foreach ((KeyRange range, float[] values) in dense[w])
            {
                for (ulong k = range.Begin; k < range.End; k++)
                    denseSums[k] += values[k - range.Begin];
            }
        }
        return (sums, denseSums);
    }
}
