using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.Evaluation;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Core.Keys;
using ClusterConsistency = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>
/// Sparse logistic regression with L1 (and optional L2) on the parameter server, by the paper's
/// delayed block proximal gradient (<see cref="BlockProximalWorker"/>) or by asynchronous SGD with
/// FTRL-proximal on the servers (<see cref="FtrlWorker"/>). Worker 0 scores the final model.
/// </summary>
public static class SparseLogisticRegression
{
    /// <summary>Runs the worker's part of the job, then sends the final report with its results.</summary>
    public static async Task<SparseLRResult> RunAndReportAsync(WorkerClient client, SparseLROptions o, CancellationToken cancellationToken = default)
    {
        SparseLRResult r = await RunWorkerAsync(client, o, cancellationToken).ConfigureAwait(false);
        await client.ReportAsync(new ProgressReport(client.Rank, r.Iterations, r.TrainLogLoss, r.Examples, r.ComputeSeconds, r.WaitSeconds, true)
        {
            Metrics = r.ToMetrics(),
        }).ConfigureAwait(false);
        return r;
    }

    public static Task<SparseLRResult> RunWorkerAsync(WorkerClient client, SparseLROptions o, CancellationToken cancellationToken = default) =>
        o.Algorithm == SparseLRAlgorithm.BlockProximal
            ? BlockProximalWorker.RunAsync(client, o, cancellationToken)
            : FtrlWorker.RunAsync(client, o, cancellationToken);

    /// <summary>Scores the servers' final model: the objective over all training data and the held-out metrics.</summary>
    internal static async Task<SparseLRResult> EvaluateAsync(WorkerClient client, TableHandle table, SparseLROptions o, SparseDataset train, SparseDataset test,
        SparseLRResult result, CancellationToken cancellationToken)
    {
        ModelScore onTrain = await PredictAsync(client, table, train, cancellationToken).ConfigureAwait(false);
        ModelScore onTest = await PredictAsync(client, table, test, cancellationToken).ConfigureAwait(false);
        double trainLoss = Metrics.LogLoss(onTrain.P, train.Labels);
        // FTRL's λ₂ is in its own per-coordinate units, not a term of this objective.
        double l2 = o.Algorithm == SparseLRAlgorithm.BlockProximal ? o.L2 / 2 * onTrain.SquaredNorm : 0;
        return result with
        {
            TrainLogLoss = trainLoss,
            Objective = trainLoss + (((o.L1 * onTrain.L1Norm) + l2) / train.Count),
            TestLogLoss = Metrics.LogLoss(onTest.P, test.Labels),
            Auc = Metrics.Auc(onTest.P, test.Labels),
            Accuracy = Metrics.Accuracy(onTest.P, test.Labels),
            NonZeros = onTrain.NonZeros,
        };
    }

    /// <summary>Probabilities of examples under a model, and the model's norms over their features.</summary>
    public sealed record ModelScore(double[] P, double L1Norm, double SquaredNorm, long NonZeros);

    /// <summary>Scores every example of <paramref name="data"/> under the servers' current weights (the first value of each row).</summary>
    public static async Task<ModelScore> PredictAsync(WorkerClient client, TableHandle table, SparseDataset data, CancellationToken cancellationToken)
    {
        ulong[] keys = (ulong[])data.Keys.Clone();
        keys = keys[..KeySet.SortUnique(keys)];
        int width = table.Spec.Width;
        var rows = new float[keys.Length * width];
        await client.PullAsync(table, keys, rows, ClusterConsistency.Eventual, cancellationToken).ConfigureAwait(false);
        var weights = new float[keys.Length];
        for (int j = 0; j < keys.Length; j++)
            weights[j] = rows[j * width];
        return Score(data, keys, weights);
    }

    /// <summary>Scores every example of <paramref name="data"/> under weights given for sorted <paramref name="keys"/> (others count as 0).</summary>
    public static ModelScore Score(SparseDataset data, ReadOnlySpan<ulong> keys, ReadOnlySpan<float> weights)
    {
        var p = new double[data.Count];
        for (int i = 0; i < data.Count; i++)
        {
            double margin = 0;
            ReadOnlySpan<ulong> k = data.KeysOf(i);
            ReadOnlySpan<float> v = data.ValuesOf(i);
            for (int f = 0; f < k.Length; f++)
            {
                int j = KeySet.LowerBound(keys, k[f]);
                if (j < keys.Length && keys[j] == k[f])
                    margin += weights[j] * v[f];
            }
            p[i] = 1 / (1 + Math.Exp(-margin));
        }
        double l1 = 0, squares = 0;
        long nonZeros = 0;
        foreach (float w in weights)
        {
            l1 += Math.Abs(w);
            squares += (double)w * w;
            nonZeros += w != 0 ? 1 : 0;
        }
        return new ModelScore(p, l1, squares, nonZeros);
    }
}
