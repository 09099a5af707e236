using System.Diagnostics;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.Evaluation;
using ParameterServer.Fast.Codec.Filters;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>What the single-process baseline reached, pass by pass.</summary>
public sealed record BaselineResult(IReadOnlyList<ObjectivePoint> Trace, double Seconds, double Objective, long NonZeros, double TestLogLoss, double Auc);

/// <summary>
/// The same block proximal gradient on one thread without a cluster (the paper's Figure 9 compares
/// the system with a single-process baseline of the same algorithm): the whole training set is one
/// shard, the proximal step is <see cref="ProximalStep.Solve"/> called in place, the same feature
/// blocks, curvature bound, KKT filter and resets. With nothing to wait for it applies each block's
/// update at once (τ = 0), the fastest convergence per pass.
/// </summary>
public static class BlockProximalBaseline
{
    public static BaselineResult Run(SparseLROptions o, SparseDataset train, SparseDataset test, CancellationToken cancellationToken = default)
    {
        o.Validate();
        var shard = new LogisticShard(ShardColumns.Build(train));
        var active = new ActiveFeatures(new FeatureBlocks(o.Blocks).Split(shard.Data.Keys));
        if (o.KktFilter)
            active.Screen(FeatureMass.Screened(FeatureMass.Of(shard.Data), o.L1));
        // The KKT condition always shapes the curvature; o.KktFilter decides whether inactive features still travel.
        var kkt = new KktFilter(new ProximalKktCondition(key => shard.Weights[shard.Data.IndexOf(key)], o.L1));
        var settings = new UpdaterSettings(LearningRate: 1f, L1: o.L1, L2: o.L2);
        var round = new BlockRound();
        var trace = new List<ObjectivePoint>();
        long started = Stopwatch.GetTimestamp();
        trace.Add(new ObjectivePoint(0, 0, Objective(shard, o, train.Count)));
        for (int pass = 0; pass < o.Epochs; pass++)
        {
            for (int block = 0; block < o.Blocks; block++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (o.KktFilter && pass > 0 && pass % o.KktResetEvery == 0)
                    active.Reset(block);
                round.Compute(shard, active, block, ((long)pass * o.Blocks) + block + 1, o.KktFilter);
                Step(shard, round, settings);
                round.Apply(shard, active, kkt);
            }
            trace.Add(new ObjectivePoint(pass + 1, Stopwatch.GetElapsedTime(started).TotalSeconds, Objective(shard, o, train.Count)));
        }
        SparseLogisticRegression.ModelScore onTest = SparseLogisticRegression.Score(test, shard.Data.Keys, shard.Weights);
        long nonZeros = 0;
        foreach (float w in shard.Weights)
            nonZeros += w != 0 ? 1 : 0;
        return new BaselineResult(trace, trace[^1].Seconds, trace[^1].Objective, nonZeros, Metrics.LogLoss(onTest.P, test.Labels), Metrics.Auc(onTest.P, test.Labels));
    }

    // What the servers do with one worker's push: [g, u, round] becomes [w, G, round].
    private static void Step(LogisticShard shard, BlockRound round, in UpdaterSettings settings)
    {
        Span<float> rows = round.Rows.Span;
        ReadOnlySpan<int> features = round.Features;
        ReadOnlySpan<float> weights = shard.Weights;
        for (int k = 0; k < features.Length; k++)
        {
            float g = rows[k * BlockRound.Width];
            rows[k * BlockRound.Width] = ProximalStep.Solve(weights[features[k]], g, rows[(k * BlockRound.Width) + 1], settings);
            rows[(k * BlockRound.Width) + 1] = g;
        }
    }

    private static double Objective(LogisticShard shard, SparseLROptions o, int examples) =>
        (shard.LossSum() + shard.Regulariser(o.L1, o.L2)) / examples;
}
