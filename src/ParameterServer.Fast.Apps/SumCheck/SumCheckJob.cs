using System.Diagnostics;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using ClusterConsistency = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Apps.SumCheck;

/// <summary>
/// The exact-check application (<c>psf local --app sum-check</c>): a cluster self-test whose
/// answer is known to the last bit. Each worker pushes its deterministic increments
/// (<see cref="SumCheckPlan"/>) round by round to a sparse and a dense Sum table; after a barrier
/// worker 0 pulls every row of both and compares it with the exact sum of all workers' pushes.
/// Whole numbers below 2^24 add exactly in floats in any order, so any lost, doubled or misrouted
/// update shows as a mismatch, whatever the timing, the transport or the failovers on the way.
/// </summary>
public static class SumCheckJob
{
    public const string SparseTable = "sum-check-sparse";
    public const string DenseTable = "sum-check-dense";

    /// <summary>Rounds between two progress reports.</summary>
    public const int ReportEvery = 10;

    private const uint StartBarrier = 30;
    private const uint EndBarrier = 31;

    public static async Task<SumCheckResult> RunAndReportAsync(WorkerClient client, SumCheckOptions o, CancellationToken cancellationToken = default)
    {
        SumCheckResult r = await RunWorkerAsync(client, o, cancellationToken).ConfigureAwait(false);
        await client.ReportAsync(new ProgressReport(client.Rank, r.Rounds, 0, r.SparseRowsPushed + r.DenseRowsPushed,
            r.ComputeSeconds, r.WaitSeconds, true) { Metrics = r.ToMetrics() }).ConfigureAwait(false);
        return r;
    }

    public static async Task<SumCheckResult> RunWorkerAsync(WorkerClient client, SumCheckOptions o, CancellationToken cancellationToken = default)
    {
        o.ValidateFor(client.Workers);
        var plan = new SumCheckPlan(o);
        TableHandle sparse = await client.DeclareTableAsync(TableSpec.Sparse(SparseTable, 1, UpdaterKind.Sum), cancellationToken).ConfigureAwait(false);
        TableHandle dense = await client.DeclareTableAsync(TableSpec.Dense(DenseTable, new KeyRange(0, (ulong)o.DenseKeys), 1, UpdaterKind.Sum), cancellationToken).ConfigureAwait(false);
        var keys = new ulong[plan.SparseKeys.Length];
        var values = new float[plan.SparseKeys.Length];
        var denseValues = new float[o.DenseKeys];
        await client.BarrierAsync(StartBarrier, cancellationToken).ConfigureAwait(false);

        double compute = 0, wait = 0;
        long sparseRows = 0, denseRows = 0;
        // A replacement worker starts at the clock the scheduler gave it; a fresh one at 0.
        for (int round = (int)Math.Min(client.Clock, o.Rounds); round < o.Rounds; round++)
        {
            long t0 = Stopwatch.GetTimestamp();
            int n = plan.SparseRound(client.Rank, round, keys, values);
            plan.DenseRound(client.Rank, round, denseValues);
            long t1 = Stopwatch.GetTimestamp();
            await Task.WhenAll(
                client.PushAsync(sparse, keys.AsMemory(0, n), values.AsMemory(0, n), cancellationToken).AsTask(),
                client.PushRangeAsync(dense, new KeyRange(0, (ulong)o.DenseKeys), denseValues, cancellationToken).AsTask()).ConfigureAwait(false);
            await client.AdvanceClockAsync().ConfigureAwait(false);
            compute += Stopwatch.GetElapsedTime(t0, t1).TotalSeconds;
            wait += Stopwatch.GetElapsedTime(t1).TotalSeconds;
            sparseRows += n;
            denseRows += o.DenseKeys;
            if ((round + 1) % ReportEvery == 0)
                await client.ReportAsync(new ProgressReport(client.Rank, round + 1, 0, sparseRows + denseRows, compute, wait, false)).ConfigureAwait(false);
            if (o.Pace > TimeSpan.Zero)
                await Task.Delay(o.Pace, cancellationToken).ConfigureAwait(false);
        }
        await client.FinishIterationsAsync().ConfigureAwait(false);
        // Every push of every worker is acknowledged (by the tail of its chain) before anyone passes.
        await client.BarrierAsync(EndBarrier, cancellationToken).ConfigureAwait(false);
        var result = new SumCheckResult
        {
            Worker = client.Rank, Rounds = o.Rounds, SparseRowsPushed = sparseRows, DenseRowsPushed = denseRows,
            ComputeSeconds = compute, WaitSeconds = wait,
        };
        return client.Rank == 0 ? await CompareAsync(client, plan, o, sparse, dense, result, cancellationToken).ConfigureAwait(false) : result;
    }

    private static async Task<SumCheckResult> CompareAsync(WorkerClient client, SumCheckPlan plan, SumCheckOptions o, TableHandle sparse, TableHandle dense,
        SumCheckResult result, CancellationToken cancellationToken)
    {
        var pulledSparse = new float[plan.SparseKeys.Length];
        var pulledDense = new float[o.DenseKeys];
        await Task.WhenAll(
            client.PullAsync(sparse, plan.SparseKeys, pulledSparse, ClusterConsistency.Eventual, cancellationToken).AsTask(),
            client.PullRangeAsync(dense, new KeyRange(0, (ulong)o.DenseKeys), pulledDense, ClusterConsistency.Eventual, cancellationToken).AsTask()).ConfigureAwait(false);
        (double[] expectedSparse, double[] expectedDense) = plan.Expected(client.Workers);
        string? first = null;
        double maxError = 0;
        long Compare(string what, float[] pulled, double[] expected, Func<int, string> row)
        {
            long wrong = 0;
            for (int i = 0; i < pulled.Length; i++)
            {
                double error = Math.Abs(pulled[i] - expected[i]);
                if (error == 0)
                    continue;
                wrong++;
                maxError = Math.Max(maxError, error);
                first ??= $"{what} {row(i)}: {pulled[i]} ≠ {expected[i]} expected";
            }
            return wrong;
        }
        long sparseWrong = Compare("sparse", pulledSparse, expectedSparse, i => $"key {plan.SparseKeys[i]}");
        long denseWrong = Compare("dense", pulledDense, expectedDense, i => $"row {i}");
        return result with
        {
            RowsChecked = pulledSparse.Length + pulledDense.Length,
            Mismatches = sparseWrong + denseWrong, SparseMismatches = sparseWrong, DenseMismatches = denseWrong,
            MaxAbsError = maxError, FirstMismatch = first,
        };
    }
}
