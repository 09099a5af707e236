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

    [Test, CancelAfter(180_000)]
    public async Task TheMlpLearnsFashionMnist()
    {
        if (!File.Exists(Path.Combine(IdxReader.DebianFashionMnist, "train-images-idx3-ubyte.gz")))
            Assert.Ignore($"Fashion-MNIST is not installed in {IdxReader.DebianFashionMnist} (./build.sh installs Debian's dataset-fashion-mnist)");
        var o = new MlpOptions { Limit = 12_000, Epochs = 2, Hidden = 128 };
        Dictionary<int, ProgressReport> finals = await InProcessJob.RunAsync(1, 2, c => MlpTraining.RunAndReportAsync(c, o), TimeSpan.FromSeconds(170));
        Assert.That(finals[0].Metrics["accuracy"], Is.GreaterThan(0.80));
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
