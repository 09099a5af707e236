using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Cluster.Protocol;

namespace ParameterServer.Fast.Apps.Tests;

public class BlockProximalConvergenceTests
{
    private static readonly GeneratedData s_data = new(new ClickLogGenerator { Examples = 2_000, Vocabulary = 1_500, FeaturesPerExample = 12, Seed = 7 }, 500);

    private static SparseLROptions Options(float l1, float l2, int maxDelay) => new()
    {
        Data = s_data, L1 = l1, L2 = l2, MaxDelay = maxDelay, Blocks = 4, Epochs = 60, KktResetEvery = 10,
    };

    [TestCase(2f, 0f, 1)]
    [TestCase(1f, 0.5f, 0)]
    [CancelAfter(120_000)]
    public async Task AnInProcessClusterReachesTheFullBatchProximalGradientOptimum(float l1, float l2, int maxDelay)
    {
        (SparseDataset train, _) = s_data.Load();
        double optimum = FullBatchProximalGradient.Minimum(train, l1, l2);
        SparseLROptions o = Options(l1, l2, maxDelay);
        Dictionary<int, ProgressReport> finals = await InProcessJob.RunAsync(2, 2, c => SparseLogisticRegression.RunAndReportAsync(c, o), TimeSpan.FromSeconds(100));
        double objective = finals[0].Metrics["objective"];
        Assert.That(objective, Is.EqualTo(optimum).Within(1e-4 * optimum), "within 0.01% of the optimum");
        Assert.That(objective, Is.GreaterThanOrEqualTo(optimum - 1e-6), "the reference is the optimum: nothing goes below it");
        Assert.That(finals[0].Metrics["nonzeros"], Is.GreaterThan(0));
    }

    [Test]
    public void TheSingleProcessBaselineReachesTheSameOptimum()
    {
        (SparseDataset train, SparseDataset test) = s_data.Load();
        double optimum = FullBatchProximalGradient.Minimum(train, 2f, 0f);
        BaselineResult b = BlockProximalBaseline.Run(Options(2f, 0f, 0), train, test);
        Assert.That(b.Objective, Is.EqualTo(optimum).Within(1e-4 * optimum));
        Assert.That(b.Trace, Has.Count.EqualTo(61), "the start and every pass");
        for (int p = 1; p < b.Trace.Count; p++)
            Assert.That(b.Trace[p].Objective, Is.LessThanOrEqualTo(b.Trace[p - 1].Objective + 1e-9), $"pass {p}: the curvature bound makes every step a descent step");
    }

    [Test, CancelAfter(120_000)]
    public async Task TheWorkersSharesAddUpToTheObjective()
    {
        SparseLROptions o = Options(2f, 0f, 2) with { Epochs = 10 };
        var results = new SparseLRResult[2];
        Dictionary<int, ProgressReport> finals = await InProcessJob.RunAsync(1, 2, async c =>
        {
            SparseLRResult r = await SparseLogisticRegression.RunAndReportAsync(c, o);
            results[c.Rank] = r;
        }, TimeSpan.FromSeconds(100));
        List<ObjectivePoint> trace = ObjectiveTrace.Combine(results.SelectMany(r => r.Trace.Select(p => (r.Worker, p))), 2);
        Assert.That(trace, Has.Count.EqualTo(11));
        Assert.That(trace[0].Objective, Is.EqualTo(Math.Log(2)).Within(1e-9), "w = 0 predicts ½ everywhere");
        Assert.That(trace[^1].Objective, Is.EqualTo(finals[0].Metrics["objective"]).Within(1e-5), "the last pass is the final model");
    }
}
