using ParameterServer.Fast.Apps.CountMin;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.Mlp;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Cluster.Protocol;

namespace ParameterServer.Fast.Apps.Tests;

public class AppConvergenceTests
{
    [Test, CancelAfter(120_000)]
    public async Task CountMinEstimatesStayWithinTheirBound()
    {
        var o = new CountMinOptions { Width = 4096, Depth = 4, Items = 400_000, Vocabulary = 50_000, Batch = 50_000, Queries = 400 };
        Dictionary<int, ProgressReport> finals = await InProcessJob.RunAsync(2, 2, c => CountMinSketch.RunAndReportAsync(c, o), TimeSpan.FromSeconds(100));
        IReadOnlyDictionary<string, double> m = finals[0].Metrics;
        // With probability 1 − δ each estimate over-counts by at most ε·N; of 400 queries at δ = e⁻⁴
        // about 7 may exceed it by chance, far more would mean lost or misplaced counters.
        Assert.That(m["bound_violations"], Is.LessThanOrEqualTo(Math.Ceiling(o.Delta * m["queried"] * 2)));
        Assert.That(m["max_error_over_n"], Is.GreaterThanOrEqualTo(0));
        Assert.That(m["queried"], Is.GreaterThan(300));
        Assert.That(finals[0].Metrics["iterations"] + finals[1].Metrics["iterations"], Is.EqualTo(8), "one push per batch of 50,000");
    }

    [Test, CancelAfter(120_000)]
    public async Task CountMinServersHoldTheSameSketchWithOrWithoutPreAggregation()
    {
        var aggregated = new CountMinOptions { Width = 2048, Depth = 3, Items = 300_000, Vocabulary = 20_000, Queries = 300, Seed = 3 };
        var plain = aggregated with { AggregatedIds = 0, Batch = 70_000 };
        IReadOnlyDictionary<string, double> a = (await InProcessJob.RunAsync(2, 2, c => CountMinSketch.RunAndReportAsync(c, aggregated), TimeSpan.FromSeconds(100)))[0].Metrics;
        IReadOnlyDictionary<string, double> p = (await InProcessJob.RunAsync(1, 2, c => CountMinSketch.RunAndReportAsync(c, plain), TimeSpan.FromSeconds(100)))[0].Metrics;
        // Counters below 2²⁴ add exactly as floats, so the estimates (and every error) are identical.
        foreach (string name in new[] { "max_relative_error", "max_error_over_n", "bound_violations", "queried" })
            Assert.That(a[name], Is.EqualTo(p[name]), name);
        Assert.That(a["distinct_flushed"], Is.GreaterThan(0));
        Assert.That(p["distinct_flushed"], Is.Zero, "nothing aggregated: every item went straight into the sketch");
    }

    [Test, CancelAfter(120_000)]
    public async Task SparseLogisticRegressionByFtrlLearnsTheHiddenModel()
    {
        SparseLROptions o = SparseLROptions.For(SparseLRAlgorithm.Ftrl) with { Data = new GeneratedData(new ClickLogGenerator { Examples = 20_000, Seed = 5 }, 5_000), Epochs = 3, MaxDelay = 1 };
        Dictionary<int, ProgressReport> finals = await InProcessJob.RunAsync(2, 2, c => SparseLogisticRegression.RunAndReportAsync(c, o), TimeSpan.FromSeconds(100));
        IReadOnlyDictionary<string, double> m = finals[0].Metrics;
        Assert.That(m["auc"], Is.GreaterThan(0.68), "well above chance (0.5)");
        Assert.That(m["objective"], Is.LessThan(0.6));
        Assert.That(m["nonzeros"], Is.GreaterThan(0));
    }

    // Adam or plain SGD on the servers. SGD learns more slowly per pass: on the whole set it ends
    // 3 epochs at 84-85% (Adam 86%).
    [TestCase(Core.Updaters.UpdaterKind.Adam, 0.80)]
    [TestCase(Core.Updaters.UpdaterKind.Sgd, 0.75)]
    [CancelAfter(180_000)]
    public async Task TheMlpLearnsFashionMnist(Core.Updaters.UpdaterKind optimizer, double least)
    {
        if (!File.Exists(Path.Combine(IdxReader.DebianFashionMnist, "train-images-idx3-ubyte.gz")))
            Assert.Ignore($"Fashion-MNIST is not installed in {IdxReader.DebianFashionMnist} (./build.sh installs Debian's dataset-fashion-mnist)");
        var o = new MlpOptions { Limit = 12_000, Epochs = 3, Hidden = 128, Optimizer = optimizer, LearningRate = MlpOptions.DefaultLearningRate(optimizer) };
        Dictionary<int, ProgressReport> finals = await InProcessJob.RunAsync(1, 2, c => MlpTraining.RunAndReportAsync(c, o), TimeSpan.FromSeconds(170));
        TestContext.Out.WriteLine($"{optimizer}: test accuracy {finals[0].Metrics["accuracy"]:F4}");
        Assert.That(finals[0].Metrics["accuracy"], Is.GreaterThan(least));
    }

    [Test]
    public void BadIdxFilesAreNamed()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"psf-idx-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "train-images-idx3-ubyte"), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]);
            File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 2, 1, 2]);
            var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadPair(dir, "train"));
            Assert.That(e!.Message, Does.Contain("train-images-idx3-ubyte").And.Contain("need 1568 bytes"));
            Assert.Throws<FileNotFoundException>(() => IdxReader.ReadPair(dir, "t10k"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
