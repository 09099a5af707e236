using System.Diagnostics;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Apps.CountMin;

/// <summary>
/// Count-min sketch on the parameter server (the paper's §5.3 application): the servers hold the
/// counters as one dense table, range-partitioned; each worker streams its share of a Zipf item
/// stream, pre-aggregates it (exact per-item counts, <see cref="ItemCounts"/>) into its own
/// sketch (<see cref="LocalSketch"/>) and pushes that sketch row range by row range through the
/// Sum updater, once per batch. Queries pull the item's counter in each row and take the minimum.
/// </summary>
public static class CountMinSketch
{
    public const string TableName = "count-min";

    /// <summary>Items between two progress reports: about ten a second per worker here.</summary>
    public const int ReportEvery = 1 << 22;

    // Items counted (and discarded) before the start barrier to get the code compiled.
    private const int WarmUpItems = 1 << 14;

    public static TableSpec Spec(CountMinOptions o) =>
        TableSpec.Dense(TableName, new KeyRange(0, (ulong)o.Width * (ulong)o.Depth), 1, UpdaterKind.Sum);

    /// <summary>The row hashes every worker and every query of a job share (seeded by the job's seed).</summary>
    public static SketchHash Hash(CountMinOptions o) => new(o.Depth, o.Width, o.Seed);

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
        // Everything a worker needs is allocated before the start barrier, so the timed part is
        // counting, flushing and pushing only.
        var stream = new ZipfStream(o.Vocabulary, o.Skew, o.Seed);
        using var sketch = new LocalSketch(Hash(o));
        using var counts = new ItemCounts(Math.Min(o.Vocabulary, o.AggregatedIds), sketch.KeysPerPass);
        var outgoing = new float[sketch.Length];
        (long first, long last) = Share(o, client.Rank, client.Workers);
        // First-use costs before the clock starts, as for the worker's own tables: the counting and
        // flushing code is compiled on a few thousand items, which are then thrown away, and one
        // push of the empty sketch (it adds nothing) has the servers' table pages, the client's frame
        // buffers and the push path ready. Without them a short job times ~0.1 s of warm-up.
        counts.Count(stream, first, Math.Min(last, first + WarmUpItems), sketch);
        counts.FlushInto(stream, sketch);
        sketch.Clear();
        await PushByRowsAsync(client, table, sketch, outgoing, cancellationToken).ConfigureAwait(false);
        await client.BarrierAsync(10, cancellationToken).ConfigureAwait(false);

        double compute = 0, wait = 0;
        long batches = 0, reports = 0, distinct = 0;
        var clock = Stopwatch.StartNew();
        // One clock per batch, ticked once its push is acknowledged: a job resumed from the
        // checkpoint at clock c starts at batch c, every batch before it being in the checkpoint.
        long resumeAt = client.Clock;
        for (long start = first + (resumeAt * o.Batch); start < last; start += o.Batch)
        {
            long end = Math.Min(last, start + o.Batch);
            for (long part = start; part < end; part += ReportEvery)
            {
                long t0 = Stopwatch.GetTimestamp();
                long partEnd = Math.Min(end, part + ReportEvery);
                counts.Count(stream, part, partEnd, sketch);
                compute += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                await client.ReportAsync(new ProgressReport(client.Rank, ++reports, 0, partEnd - first, compute, wait, false)).ConfigureAwait(false);
            }
            long t1 = Stopwatch.GetTimestamp();
            distinct += counts.FlushInto(stream, sketch);
            Task pushed = PushByRowsAsync(client, table, sketch, outgoing, cancellationToken);
            long t2 = Stopwatch.GetTimestamp();
            await pushed.ConfigureAwait(false);
            sketch.Clear();
            compute += Stopwatch.GetElapsedTime(t1, t2).TotalSeconds;
            batches++;
            await client.AdvanceClockAsync().ConfigureAwait(false);
            wait += Stopwatch.GetElapsedTime(t2).TotalSeconds;
        }
        await client.FinishIterationsAsync().ConfigureAwait(false);
        await client.BarrierAsync(11, cancellationToken).ConfigureAwait(false);
        double insertSeconds = clock.Elapsed.TotalSeconds;
        var result = new CountMinResult
        {
            Worker = client.Rank, Items = last - first, Batches = batches, DistinctFlushed = distinct,
            ComputeSeconds = compute, WaitSeconds = wait, InsertSeconds = insertSeconds,
        };
        if (client.Rank != 0)
            return result;
        long pushes = Enumerable.Range(0, client.Workers).Sum(w => Batches(o, w, client.Workers));
        return await CountMinCheck.RunAsync(client, table, o, stream, pushes, result, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Items [first, last) of the stream that worker <paramref name="rank"/> of <paramref name="workers"/> counts.</summary>
    public static (long First, long Last) Share(CountMinOptions o, int rank, int workers) =>
        (o.Items * rank / workers, o.Items * (rank + 1) / workers);

    private static long Batches(CountMinOptions o, int rank, int workers)
    {
        (long first, long last) = Share(o, rank, workers);
        return (last - first + o.Batch - 1) / o.Batch;
    }

    // Row by row: each row is converted to floats while the rows before it are already on their
    // way (the client splits every row range between the servers that own its parts).
    private static async Task PushByRowsAsync(WorkerClient client, TableHandle table, LocalSketch sketch, float[] outgoing, CancellationToken cancellationToken)
    {
        int width = sketch.Hash.Width;
        var pushes = new Task[sketch.Hash.Depth];
        for (int row = 0; row < pushes.Length; row++)
        {
            int start = row * width;
            sketch.CopyTo(start, outgoing.AsSpan(start, width));
            pushes[row] = client.PushRangeAsync(table, new KeyRange((ulong)start, (ulong)(start + width)), outgoing.AsMemory(start, width), cancellationToken).AsTask();
        }
        await Task.WhenAll(pushes).ConfigureAwait(false);
    }
}
