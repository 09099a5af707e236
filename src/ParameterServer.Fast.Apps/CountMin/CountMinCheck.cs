using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Cluster.Nodes;
using ClusterConsistency = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Apps.CountMin;

/// <summary>
/// Worker 0's check at the end of a job: exact counts of the whole (deterministic) stream,
/// recomputed independently of the sketch, against the estimates pulled from the servers for the
/// heaviest items and for random items that occurred. Reports the largest relative error, the
/// largest error as a fraction of N, and how many estimates exceeded the ε·N bound.
/// </summary>
public static class CountMinCheck
{
    public static async Task<CountMinResult> RunAsync(WorkerClient client, TableHandle table, CountMinOptions o, ZipfStream stream, long pushes, CountMinResult result, CancellationToken cancellationToken)
    {
        uint[] exact = ExactCounts(stream, o.Items);
        int[] queries = ChooseQueries(exact, o.Queries, o.Seed);
        SketchHash hash = CountMinSketch.Hash(o);
        ulong[] cells = [.. queries.SelectMany(id => Enumerable.Range(0, o.Depth).Select(row => (ulong)hash.Cell(stream.Key(id), row))).Distinct().Order()];
        var counters = new float[cells.Length];
        await client.PullAsync(table, cells, counters, ClusterConsistency.Eventual, cancellationToken).ConfigureAwait(false);

        double maxRelative = 0, maxOverN = 0;
        int violations = 0;
        double bound = o.Epsilon * o.Items;
        foreach (int id in queries)
        {
            double estimate = double.MaxValue;
            for (int row = 0; row < o.Depth; row++)
                estimate = Math.Min(estimate, counters[Array.BinarySearch(cells, (ulong)hash.Cell(stream.Key(id), row))]);
            long truth = exact[id];
            double error = estimate - truth;
            if (error < -FloatSlack(estimate, pushes))
                throw new InvalidOperationException($"count-min under-counted item {stream.Key(id)} (id {id}): estimate {estimate}, exact {truth}; counters were lost");
            maxRelative = Math.Max(maxRelative, error / truth);
            maxOverN = Math.Max(maxOverN, error / o.Items);
            violations += error > bound ? 1 : 0;
        }
        (double rowTotalError, long digest) = await SketchTotalsAsync(client, table, o, cancellationToken).ConfigureAwait(false);
        return result with
        {
            MaxRelativeError = maxRelative, MaxErrorOverN = maxOverN, BoundViolations = violations, Queried = queries.Length,
            RowTotalError = rowTotalError, SketchDigest = digest,
        };
    }

    /// <summary>
    /// Every item adds one to one counter of each row, so each row of the servers' sketch sums to
    /// the items streamed: the largest difference over the rows shows an update lost or applied
    /// twice (0 while every counter is below 2^24, where float sums are exact in any order). The
    /// digest (FNV-1a over every counter's bits, 52 bits so a JSON number holds it exactly) tells
    /// two runs' sketches apart: runs of one job that lose nothing have the same one.
    /// </summary>
    public static async Task<(double RowTotalError, long Digest)> SketchTotalsAsync(WorkerClient client, TableHandle table, CountMinOptions o, CancellationToken cancellationToken)
    {
        var row = new float[o.Width];
        double worst = 0;
        ulong hash = 14695981039346656037UL;
        for (int r = 0; r < o.Depth; r++)
        {
            // Row by row: one request of Width counters (4 MiB at the default width).
            var range = new Core.Keys.KeyRange((ulong)r * (ulong)o.Width, (ulong)(r + 1) * (ulong)o.Width);
            await client.PullRangeAsync(table, range, row, ClusterConsistency.Eventual, cancellationToken).ConfigureAwait(false);
            double sum = 0;
            foreach (float c in row)
            {
                sum += c;
                hash = (hash ^ BitConverter.SingleToUInt32Bits(c)) * 1099511628211UL;
            }
            worst = Math.Max(worst, Math.Abs(sum - o.Items));
        }
        return (worst, (long)(hash & ((1UL << 52) - 1)));
    }

    /// <summary>
    /// How far below the truth a server's float counter may read: each of the <paramref name="pushes"/>
    /// float additions into it rounds by at most half a unit in the last place of the sum.
    /// </summary>
    public static double FloatSlack(double estimate, long pushes)
    {
        float f = (float)Math.Max(1, estimate);
        return Math.Max(0.5, pushes * (MathF.BitIncrement(f) - f));
    }

    /// <summary>Exact counts per id of items [0, <paramref name="items"/>), on every core when the table per core is small.</summary>
    public static uint[] ExactCounts(ZipfStream stream, long items)
    {
        // 4 MiB of counts per extra core at a million ids; very large vocabularies count on one core.
        int parts = stream.Vocabulary <= 1 << 22 ? Math.Max(1, Environment.ProcessorCount) : 1;
        var partial = new uint[parts][];
        Parallel.For(0, parts, p =>
        {
            var counts = new uint[stream.Vocabulary];
            var ids = new int[4096];
            for (long i = items * p / parts, end = items * (p + 1) / parts; i < end; i += ids.Length)
            {
                Span<int> block = ids.AsSpan(0, (int)Math.Min(ids.Length, end - i));
                stream.Ids(i, block);
                foreach (int id in block)
                    counts[id]++;
            }
            partial[p] = counts;
        });
        uint[] total = partial[0];
        for (int p = 1; p < parts; p++)
        {
            for (int id = 0; id < total.Length; id++)
                total[id] += partial[p][id];
        }
        return total;
    }

    // Half the heaviest ids, half random ids among those that occurred.
    private static int[] ChooseQueries(uint[] exact, int queries, ulong seed)
    {
        int[] seen = [.. Enumerable.Range(0, exact.Length).Where(id => exact[id] > 0)];
        int[] heavy = [.. seen.OrderByDescending(id => exact[id]).Take(queries / 2)];
        var rng = new Random((int)seed);
        return [.. heavy.Concat(Enumerable.Range(0, queries - heavy.Length).Select(_ => seen[rng.Next(seen.Length)])).Distinct()];
    }
}
