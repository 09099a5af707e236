using System.Diagnostics;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using ClusterConsistency = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Apps.Mlp;

/// <summary>
/// Data-parallel training of an <see cref="MlpModel"/>: one dense table per layer on the servers
/// with the Adam (or SGD) updater; per minibatch each worker pulls both layers (bounded delay τ), computes
/// the gradient on its shard, pushes it and ends the iteration. Worker 0 finally scores the test set.
/// </summary>
public static class MlpTraining
{
    public const int Classes = 10;

    private static TableSpec Layer(string name, int size, int fanIn, MlpOptions o) =>
        TableSpec.Dense(name, new KeyRange(0, (ulong)size), 1, o.Optimizer is UpdaterKind.Adam or UpdaterKind.Sgd
            ? o.Optimizer : throw new ArgumentException($"the MLP trains with adam or sgd on the servers, not {o.Optimizer}")) with
        {
            Settings = new UpdaterSettings(LearningRate: o.LearningRate),
            // He initialisation for ReLU layers: N(0, 2 / fan-in), the same on every server by key.
            Initializer = new TableInitializer(InitializerKind.Normal, MathF.Sqrt(2f / fanIn), o.Seed),
        };

    public static async Task<Dictionary<string, double>> RunAndReportAsync(WorkerClient client, MlpOptions o, CancellationToken cancellationToken = default)
    {
        Dictionary<string, double> metrics = await RunWorkerAsync(client, o, cancellationToken).ConfigureAwait(false);
        await client.ReportAsync(new ProgressReport(client.Rank, (long)metrics["iterations"], metrics["train_loss"], (long)metrics["examples"],
            metrics["compute_seconds"], metrics["wait_seconds"], true) { Metrics = metrics }).ConfigureAwait(false);
        return metrics;
    }

    public static async Task<Dictionary<string, double>> RunWorkerAsync(WorkerClient client, MlpOptions o, CancellationToken cancellationToken = default)
    {
        ImageDataset train = IdxReader.ReadPair(o.DataFolder, "train");
        if (o.Limit > 0)
            train = train.Take(o.Limit);
        ImageDataset shard = train.Shard(client.Rank, client.Workers);
        var model = new MlpModel(train.PixelsPerImage, o.Hidden, Classes);
        TableHandle t1 = await client.DeclareTableAsync(Layer("mlp-layer1", model.Layer1Size, model.Inputs, o), cancellationToken).ConfigureAwait(false);
        TableHandle t2 = await client.DeclareTableAsync(Layer("mlp-layer2", model.Layer2Size, model.Hidden, o), cancellationToken).ConfigureAwait(false);
        var range1 = new KeyRange(0, (ulong)model.Layer1Size);
        var range2 = new KeyRange(0, (ulong)model.Layer2Size);
        float[] w1 = new float[model.Layer1Size], w2 = new float[model.Layer2Size];
        float[] g1 = new float[model.Layer1Size], g2 = new float[model.Layer2Size];
        var consistency = new ClusterConsistency(o.MaxDelay);
        int batches = Math.Max(1, shard.Count / o.BatchSize);
        int reportEvery = Math.Max(1, batches / 8);
        double compute = 0, wait = 0, lossSum = 0;
        long examples = 0, iterations = 0, seen = 0, correct = 0;
        // One clock per minibatch: a job resumed from the checkpoint at clock c starts at
        // minibatch c of the schedule (epoch c / batches), the ones before being in the checkpoint.
        long resumeAt = client.Clock;
        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            for (int b = 0; b < batches; b++)
            {
                if ((long)epoch * batches + b < resumeAt)
                    continue;
                long t0 = Stopwatch.GetTimestamp();
                ValueTask p1 = client.PullRangeAsync(t1, range1, w1, consistency, cancellationToken);
                ValueTask p2 = client.PullRangeAsync(t2, range2, w2, consistency, cancellationToken);
                await p1.ConfigureAwait(false);
                await p2.ConfigureAwait(false);
                long t1Stamp = Stopwatch.GetTimestamp();
                Array.Clear(g1);
                Array.Clear(g2);
                int start = b * o.BatchSize;
                (double loss, int right) = model.Backward(w1, w2, shard.Pixels.AsSpan(start * model.Inputs, o.BatchSize * model.Inputs),
                    shard.Labels.AsSpan(start, o.BatchSize), g1, g2);
                long t2Stamp = Stopwatch.GetTimestamp();
                ValueTask q1 = client.PushRangeAsync(t1, range1, g1, cancellationToken);
                ValueTask q2 = client.PushRangeAsync(t2, range2, g2, cancellationToken);
                await q1.ConfigureAwait(false);
                await q2.ConfigureAwait(false);
                await client.AdvanceClockAsync().ConfigureAwait(false);
                long t3 = Stopwatch.GetTimestamp();
                compute += Stopwatch.GetElapsedTime(t1Stamp, t2Stamp).TotalSeconds;
                wait += Stopwatch.GetElapsedTime(t0, t1Stamp).TotalSeconds + Stopwatch.GetElapsedTime(t2Stamp, t3).TotalSeconds;
                lossSum += loss;
                seen += o.BatchSize;
                correct += right;
                examples += o.BatchSize;
                iterations++;
                if (iterations % reportEvery == 0)
                {
                    await client.ReportAsync(new ProgressReport(client.Rank, iterations, lossSum / seen, examples, compute, wait, false)).ConfigureAwait(false);
                    lossSum = 0;
                    seen = 0;
                }
            }
        }
        await client.FinishIterationsAsync().ConfigureAwait(false);
        await client.BarrierAsync(20, cancellationToken).ConfigureAwait(false);
        var metrics = new Dictionary<string, double>
        {
            ["iterations"] = iterations,
            ["examples"] = examples,
            ["compute_seconds"] = compute,
            ["wait_seconds"] = wait,
            ["train_loss"] = seen > 0 ? lossSum / seen : double.NaN,
            ["bytes_sent"] = client.BytesSent,
        };
        if (client.Rank == 0)
        {
            await client.PullRangeAsync(t1, range1, w1, ClusterConsistency.Eventual, cancellationToken).ConfigureAwait(false);
            await client.PullRangeAsync(t2, range2, w2, ClusterConsistency.Eventual, cancellationToken).ConfigureAwait(false);
            ImageDataset test = IdxReader.ReadPair(o.DataFolder, "t10k");
            (double testLoss, double accuracy) = Evaluate(model, w1, w2, test);
            metrics["test_logloss"] = testLoss;
            metrics["accuracy"] = accuracy;
            metrics["objective"] = testLoss;
        }
        return metrics;
    }

    public static (double Loss, double Accuracy) Evaluate(MlpModel model, float[] w1, float[] w2, ImageDataset test)
    {
        var p = new float[Classes];
        double loss = 0;
        int right = 0;
        for (int i = 0; i < test.Count; i++)
        {
            model.Predict(w1, w2, test.Image(i), p);
            int y = test.Labels[i];
            loss -= Math.Log(Math.Max(p[y], 1e-12f));
            int best = 0;
            for (int k = 1; k < Classes; k++)
                best = p[k] > p[best] ? k : best;
            right += best == y ? 1 : 0;
        }
        return (loss / test.Count, right / (double)test.Count);
    }
}
