using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.SparseLR;

namespace ParameterServer.Fast.Apps.Tests;

public class BlockRoundTests
{
    private static readonly GeneratedData s_data = new(new ClickLogGenerator { Examples = 2_000, Vocabulary = 1_500, FeaturesPerExample = 12, Seed = 11 }, 500);

    [TestCase(true)]
    [TestCase(false)]
    public void APreparedRoundCarriesExactlyTheRowsOfAComputedOne(bool activeOnly)
    {
        (SparseDataset train, _) = s_data.Load();
        var shard = new LogisticShard(ShardColumns.Build(train));
        var blocks = new FeatureBlocks(4);
        var active = new ActiveFeatures(blocks.Split(shard.Data.Keys));
        // Weights that move the margins away from 0, and a block whose moving features are a strict
        // subset of its own, so both the gradient and the "counts itself" case of the curvature matter.
        int[] all = active.All(1).ToArray();
        var weights = new float[all.Length];
        for (int k = 0; k < weights.Length; k++)
            weights[k] = (k % 3) * 0.25f - 0.2f;
        shard.SetWeights(all, weights);
        active.Set(2, active.All(2).ToArray().Where((_, k) => k % 2 == 0).ToArray());

        var computed = new BlockRound();
        computed.Compute(shard, active, 2, 7, activeOnly);
        var prepared = new BlockRound();
        prepared.Prepare(shard, active, 2, activeOnly);
        Assert.That(prepared.Prepared, Is.True);
        prepared.Finish(shard, 7);

        Assert.That(prepared.Prepared, Is.False);
        Assert.That(prepared.Count, Is.EqualTo(computed.Count).And.GreaterThan(0));
        Assert.That(prepared.Keys.ToArray(), Is.EqualTo(computed.Keys.ToArray()));
        Assert.That(prepared.Moving.ToArray(), Is.EqualTo(computed.Moving.ToArray()));
        Assert.That(prepared.Rows.ToArray(), Is.EqualTo(computed.Rows.ToArray()), "the same bits, gradient and curvature");
        Assert.That(computed.Rows.ToArray().Where((_, i) => i % BlockRound.Width == 0).Any(g => g != 0f), "the gradient is not trivially 0");
    }

    [Test]
    public void FinishingARoundThatWasNotPreparedThrows()
    {
        (SparseDataset train, _) = s_data.Load();
        var shard = new LogisticShard(ShardColumns.Build(train));
        var active = new ActiveFeatures(new FeatureBlocks(4).Split(shard.Data.Keys));
        var round = new BlockRound();
        Assert.That(() => round.Finish(shard, 1), Throws.InvalidOperationException);
        round.Compute(shard, active, 0, 1, activeOnly: true);
        Assert.That(() => round.Finish(shard, 2), Throws.InvalidOperationException, "a computed round is not a prepared one");
    }

    // With τ = 0 the workers compute the next block's curvature while the servers answer the
    // current round; the job still takes the baseline's steps, so its objective follows the
    // baseline's pass for pass (up to float sums over two shards instead of one).
    [Test, CancelAfter(120_000)]
    public async Task AJobWithoutDelayFollowsTheBaselinePassForPass()
    {
        var o = new SparseLROptions { Data = s_data, L1 = 2f, Blocks = 4, Epochs = 12, KktResetEvery = 5 };
        (SparseDataset train, SparseDataset test) = s_data.Load();
        BaselineResult baseline = BlockProximalBaseline.Run(o, train, test);
        var results = new SparseLRResult[2];
        await InProcessJob.RunAsync(2, 2, async c => results[c.Rank] = await SparseLogisticRegression.RunAndReportAsync(c, o), TimeSpan.FromSeconds(100));
        List<ObjectivePoint> job = ObjectiveTrace.Combine(results.SelectMany(r => r.Trace.Select(p => (r.Worker, p))), 2);
        Assert.That(job, Has.Count.EqualTo(baseline.Trace.Count));
        for (int p = 0; p < job.Count; p++)
            Assert.That(job[p].Objective, Is.EqualTo(baseline.Trace[p].Objective).Within(1e-5 * baseline.Trace[p].Objective), $"pass {p}");
        Assert.That(baseline.Trace[^1].Objective, Is.LessThan(baseline.Trace[1].Objective - 0.01), "the passes do move the objective");
    }
}
