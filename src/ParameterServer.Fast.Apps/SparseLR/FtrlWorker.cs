using System.Diagnostics;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.Evaluation;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using ClusterConsistency = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>
/// Sparse logistic regression by asynchronous minibatch SGD against the servers' FTRL-proximal
/// updater: per minibatch a worker pulls the weights of the batch's features (under bounded delay
/// τ), computes the log-loss gradient, pushes it, and ends the iteration.
/// </summary>
public static class FtrlWorker
{
    public const string TableName = "lr-weights";

    public static TableSpec WeightsSpec(SparseLROptions o) =>
        TableSpec.Sparse(TableName, 1, UpdaterKind.Ftrl) with
        {
            Settings = new UpdaterSettings(LearningRate: o.LearningRate, L1: o.L1, L2: o.L2, Beta: 1f),
            MaxRows = 1 << 26,
        };

    public static async Task<SparseLRResult> RunAsync(WorkerClient client, SparseLROptions o, CancellationToken cancellationToken = default)
    {
        TableHandle table = await client.DeclareTableAsync(WeightsSpec(o), cancellationToken).ConfigureAwait(false);
        (SparseDataset train, SparseDataset test) = o.Data.Load();
        SparseDataset shard = train.Shard(client.Rank, client.Workers);
        var consistency = new ClusterConsistency(o.MaxDelay);
        int batches = Math.Max(1, (shard.Count + o.BatchSize - 1) / o.BatchSize);
        int reportEvery = Math.Max(1, batches / Math.Max(1, o.ReportsPerEpoch));
        var batch = new Minibatch();
        double compute = 0, wait = 0, lossSum = 0;
        long examples = 0, iterations = 0, lossCount = 0;
        // One clock per minibatch: a job resumed from the checkpoint at clock c starts at
        // minibatch c of the schedule (epoch c / batches), the ones before being in the checkpoint.
        long resumeAt = client.Clock;
        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            for (int b = 0; b < batches; b++)
            {
                if ((long)epoch * batches + b < resumeAt)
                    continue;
                cancellationToken.ThrowIfCancellationRequested();
                int start = b * o.BatchSize, count = Math.Min(o.BatchSize, shard.Count - start);
                long t0 = Stopwatch.GetTimestamp();
                batch.Load(shard, start, count);
                long t1 = Stopwatch.GetTimestamp();
                await client.PullAsync(table, batch.Keys, batch.Weights, consistency, cancellationToken).ConfigureAwait(false);
                long t2 = Stopwatch.GetTimestamp();
                lossSum += batch.Gradient(shard, start, count);
                lossCount += count;
                if (client.Rank == 1 && o.Straggler > TimeSpan.Zero)
                    Thread.Sleep(o.Straggler);
                long t3 = Stopwatch.GetTimestamp();
                await client.PushAsync(table, batch.Keys, batch.Gradients, cancellationToken).ConfigureAwait(false);
                await client.AdvanceClockAsync().ConfigureAwait(false);
                long t4 = Stopwatch.GetTimestamp();
                compute += Seconds(t1 - t0) + Seconds(t3 - t2);
                wait += Seconds(t2 - t1) + Seconds(t4 - t3);
                examples += count;
                iterations++;
                if (iterations % reportEvery == 0)
                {
                    await client.ReportAsync(new ProgressReport(client.Rank, iterations, lossSum / lossCount, examples, compute, wait, false)).ConfigureAwait(false);
                    lossSum = 0;
                    lossCount = 0;
                }
            }
        }
        await client.FinishIterationsAsync().ConfigureAwait(false);
        await client.BarrierAsync(1, cancellationToken).ConfigureAwait(false);
        var result = new SparseLRResult { Worker = client.Rank, Iterations = iterations, Examples = examples, ComputeSeconds = compute, WaitSeconds = wait, BytesSent = client.BytesSent };
        if (client.Rank == 0)
            result = await SparseLogisticRegression.EvaluateAsync(client, table, o, train, test, result, cancellationToken).ConfigureAwait(false);
        return result;
    }

    private static double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;

    /// <summary>The unique features of a minibatch, their pulled weights and pushed gradients.</summary>
    private sealed class Minibatch
    {
        private ulong[] _keys = new ulong[1024];
        private float[] _weights = new float[1024];
        private float[] _gradients = new float[1024];
        private int _count;

        public ReadOnlyMemory<ulong> Keys => _keys.AsMemory(0, _count);
        public Memory<float> Weights => _weights.AsMemory(0, _count);
        public ReadOnlyMemory<float> Gradients => _gradients.AsMemory(0, _count);

        public void Load(SparseDataset data, int start, int count)
        {
            int from = data.Offsets[start], to = data.Offsets[start + count];
            if (_keys.Length < to - from)
            {
                _keys = new ulong[to - from];
                _weights = new float[to - from];
                _gradients = new float[to - from];
            }
            data.Keys.AsSpan(from, to - from).CopyTo(_keys);
            _count = KeySet.SortUnique(_keys.AsSpan(0, to - from));
        }

        /// <summary>Fills the gradient of the summed log loss; returns the summed log loss before the update.</summary>
        public double Gradient(SparseDataset data, int start, int count)
        {
            Span<float> g = _gradients.AsSpan(0, _count);
            g.Clear();
            ReadOnlySpan<ulong> keys = _keys.AsSpan(0, _count);
            double loss = 0;
            for (int i = start; i < start + count; i++)
            {
                ReadOnlySpan<ulong> k = data.KeysOf(i);
                ReadOnlySpan<float> v = data.ValuesOf(i);
                double margin = 0;
                for (int f = 0; f < k.Length; f++)
                    margin += _weights[KeySet.LowerBound(keys, k[f])] * v[f];
                double p = 1 / (1 + Math.Exp(-margin));
                float y = data.Labels[i];
                loss -= y > 0.5f ? Math.Log(Math.Max(p, 1e-12)) : Math.Log(Math.Max(1 - p, 1e-12));
                float residual = (float)(p - y);
                for (int f = 0; f < k.Length; f++)
                    g[KeySet.LowerBound(keys, k[f])] += residual * v[f];
            }
            return loss;
        }
    }
}
