using System.Diagnostics;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using ClusterConsistency = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Apps.CountMin;

/// <summary>
/// Count-min sketch on the parameter server (the paper's §5.3 application): the servers hold the
/// counters as one dense table, range-partitioned; each worker streams its share of a Zipf item
/// stream, counts a batch into a local sketch (pre-aggregation: one push per batch, not per item)
/// and pushes it as a dense range through the Sum updater. Queries pull the item's counter in
/// each row and take the minimum.
/// </summary>
public static class CountMinSketch
{
    public const string TableName = "count-min";

    public static TableSpec Spec(CountMinOptions o) =>
        TableSpec.Dense(TableName, new KeyRange(0, (ulong)o.Width * (ulong)o.Depth), 1, UpdaterKind.Sum);

    /// <summary>The counter of <paramref name="item"/> in row <paramref name="row"/>: an independent hash per row.</summary>
    public static int Cell(ulong item, int row, int width)
    {
        ulong hash = KeyHash.Mix(item ^ (0x9E3779B97F4A7C15UL * (ulong)(row + 1)));
        // The high 32 bits scaled to [0, width): no modulo bias, no division.
        return (row * width) + (int)(((hash >> 32) * (ulong)width) >> 32);
    }

    public static async Task<CountMinResult> RunAndReportAsync(WorkerClient client, CountMinOptions o, CancellationToken cancellationToken = default)
    {
        CountMinResult r = await RunWorkerAsync(client, o, cancellationToken).ConfigureAwait(false);
        await client.ReportAsync(new ProgressReport(client.Rank, r.Batches, 0, r.Items, r.ComputeSeconds, r.WaitSeconds, true) { Metrics = r.ToMetrics() }).ConfigureAwait(false);
        return r;
    }

    public static async Task<CountMinResult> RunWorkerAsync(WorkerClient client, CountMinOptions o, CancellationToken cancellationToken = default)
    {
        o.Validate();
        TableHandle table = await client.DeclareTableAsync(Spec(o), cancellationToken).ConfigureAwait(false);
        await client.BarrierAsync(10, cancellationToken).ConfigureAwait(false);
        var stream = new ZipfStream(o.Vocabulary, o.Skew, o.Seed);
        long first = o.Items * client.Rank / client.Workers, last = o.Items * (client.Rank + 1) / client.Workers;
        var local = new float[o.Width * o.Depth];
        var range = new KeyRange(0, (ulong)local.Length);
        double compute = 0, wait = 0;
        long batches = 0;
        var clock = Stopwatch.StartNew();
        for (long start = first; start < last; start += o.Batch)
        {
            long end = Math.Min(last, start + o.Batch);
            long t0 = Stopwatch.GetTimestamp();
            Array.Clear(local);
            for (long i = start; i < end; i++)
            {
                ulong item = stream.Item(i);
                for (int row = 0; row < o.Depth; row++)
                    local[Cell(item, row, o.Width)] += 1f;
            }
            long t1 = Stopwatch.GetTimestamp();
            await client.PushRangeAsync(table, range, local, cancellationToken).ConfigureAwait(false);
            long t2 = Stopwatch.GetTimestamp();
            compute += Stopwatch.GetElapsedTime(t0, t1).TotalSeconds;
            wait += Stopwatch.GetElapsedTime(t1, t2).TotalSeconds;
            batches++;
            await client.ReportAsync(new ProgressReport(client.Rank, batches, 0, end - first, compute, wait, false)).ConfigureAwait(false);
        }
        await client.FinishIterationsAsync().ConfigureAwait(false);
        await client.BarrierAsync(11, cancellationToken).ConfigureAwait(false);
        double insertSeconds = clock.Elapsed.TotalSeconds;
        var result = new CountMinResult { Worker = client.Rank, Items = last - first, Batches = batches, ComputeSeconds = compute, WaitSeconds = wait, InsertSeconds = insertSeconds };
        return client.Rank == 0 ? await QueryAsync(client, table, o, stream, result, cancellationToken).ConfigureAwait(false) : result;
    }

    // Worker 0 checks estimates of the heaviest items and of random ones against exact counts of
    // the same deterministic stream.
    private static async Task<CountMinResult> QueryAsync(WorkerClient client, TableHandle table, CountMinOptions o, ZipfStream stream, CountMinResult result, CancellationToken cancellationToken)
    {
        var exact = new Dictionary<ulong, long>();
        for (long i = 0; i < o.Items; i++)
        {
            ulong item = stream.Item(i);
            exact[item] = exact.GetValueOrDefault(item) + 1;
        }
        var rng = new Random((int)o.Seed);
        ulong[] heavy = [.. exact.OrderByDescending(p => p.Value).Take(o.Queries / 2).Select(p => p.Key)];
        ulong[] all = [.. exact.Keys];
        ulong[] queries = [.. heavy.Concat(Enumerable.Range(0, o.Queries - heavy.Length).Select(_ => all[rng.Next(all.Length)])).Distinct()];
        ulong[] cells = [.. queries.SelectMany(q => Enumerable.Range(0, o.Depth).Select(row => (ulong)Cell(q, row, o.Width))).Distinct().Order()];
        var counters = new float[cells.Length];
        await client.PullAsync(table, cells, counters, ClusterConsistency.Eventual, cancellationToken).ConfigureAwait(false);
        double maxRelative = 0, maxOverN = 0;
        int violations = 0;
        double bound = o.Epsilon * o.Items;
        foreach (ulong q in queries)
        {
            double estimate = double.MaxValue;
            for (int row = 0; row < o.Depth; row++)
                estimate = Math.Min(estimate, counters[Array.BinarySearch(cells, (ulong)Cell(q, row, o.Width))]);
            long truth = exact[q];
            double error = estimate - truth;
            if (error < -0.5)
                throw new InvalidOperationException($"count-min under-counted item {q}: estimate {estimate}, exact {truth} — counters were lost");
            maxRelative = Math.Max(maxRelative, error / truth);
            maxOverN = Math.Max(maxOverN, error / o.Items);
            violations += error > bound ? 1 : 0;
        }
        return result with { MaxRelativeError = maxRelative, MaxErrorOverN = maxOverN, BoundViolations = violations, Queried = queries.Length };
    }
}
