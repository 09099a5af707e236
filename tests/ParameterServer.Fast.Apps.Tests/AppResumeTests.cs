using ParameterServer.Fast.Apps.CountMin;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.Mlp;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Cluster.Checkpoints;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Protocol;

namespace ParameterServer.Fast.Apps.Tests;

/// <summary>
/// Every application resumes from a checkpoint taken part way through its schedule: the resumed
/// job runs exactly the iterations after the checkpoint's clock (none again, none skipped), and
/// ends where a job that ran straight through ends — exactly for count-min (Sum updater, integer
/// counters), within a small tolerance for the learners, whose runs differ in update order anyway.
/// </summary>
public class AppResumeTests
{
    private const int Servers = 2, Workers = 2;
    private string _dir = "";

    [SetUp]
    public void CreateFolder() => _dir = Path.Combine(Path.GetTempPath(), $"psf-app-resume-{Guid.NewGuid():N}");

    [TearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    [Test, CancelAfter(120_000)]
    public async Task CountMinResumedEndsWithExactlyTheSketchOfAStraightRun()
    {
        // 2 workers × 6 batches of 50,000 items; a checkpoint every 2 batches, resumed from clock 2.
        var o = new CountMinOptions { Width = 4096, Depth = 4, Items = 600_000, Vocabulary = 50_000, Batch = 50_000, Queries = 300 };
        (IReadOnlyDictionary<string, double> straight, IReadOnlyDictionary<string, double> resumed, double iterations) =
            await StraightAndResumedAsync(c => CountMinSketch.RunAndReportAsync(c, o), every: 2, resumeAt: 2);
        Assert.That(iterations, Is.EqualTo(Workers * (6 - 2)), "batches 2..5 of each worker, once");
        Assert.That(resumed["row_total_error"], Is.Zero);
        Assert.That(resumed["sketch_digest"], Is.EqualTo(straight["sketch_digest"]), "the same counters");
        Assert.That(straight["row_total_error"], Is.Zero);
    }

    [Test, CancelAfter(120_000)]
    public async Task SparseLRByBlockProximalGradientResumedReachesTheStraightObjective()
    {
        SparseLROptions o = SparseLROptions.For(SparseLRAlgorithm.BlockProximal) with
        {
            Data = new GeneratedData(new ClickLogGenerator { Examples = 20_000, Seed = 5 }, 5_000), Epochs = 6, Blocks = 4, MaxDelay = 0,
        };
        (IReadOnlyDictionary<string, double> straight, IReadOnlyDictionary<string, double> resumed, double iterations) =
            await StraightAndResumedAsync(c => SparseLogisticRegression.RunAndReportAsync(c, o), every: 4, resumeAt: 12);
        Assert.That(iterations, Is.EqualTo(Workers * ((6 * 4) - 12)), "block rounds 12..23 of each worker, once");
        Assert.That(resumed["objective"], Is.EqualTo(straight["objective"]).Within(0.01 * straight["objective"]));
    }

    [Test, CancelAfter(120_000)]
    public async Task SparseLRByFtrlResumedReachesTheStraightObjective()
    {
        SparseLROptions o = SparseLROptions.For(SparseLRAlgorithm.Ftrl) with
        {
            Data = new GeneratedData(new ClickLogGenerator { Examples = 20_000, Seed = 5 }, 5_000), Epochs = 3, BatchSize = 500, MaxDelay = 1,
        };
        // 10,000 training examples per worker: 20 minibatches an epoch, 60 in all; resumed from clock 30 (epoch 1, minibatch 10).
        (IReadOnlyDictionary<string, double> straight, IReadOnlyDictionary<string, double> resumed, double iterations) =
            await StraightAndResumedAsync(c => SparseLogisticRegression.RunAndReportAsync(c, o), every: 10, resumeAt: 30);
        Assert.That(iterations, Is.EqualTo(Workers * (60 - 30)), "minibatches 30..59 of each worker, once");
        Assert.That(resumed["objective"], Is.EqualTo(straight["objective"]).Within(0.02 * straight["objective"]));
    }

    [Test, CancelAfter(180_000)]
    public async Task TheMlpResumedReachesTheStraightAccuracy()
    {
        if (!File.Exists(Path.Combine(IdxReader.DebianFashionMnist, "train-images-idx3-ubyte.gz")))
            Assert.Ignore($"Fashion-MNIST is not installed in {IdxReader.DebianFashionMnist} (./build.sh installs Debian's dataset-fashion-mnist)");
        // 3,000 images per worker in batches of 64: 46 minibatches an epoch, 92 in all; resumed from clock 60.
        var o = new MlpOptions { Limit = 6_000, Epochs = 2, Hidden = 64, MaxDelay = 0 };
        (IReadOnlyDictionary<string, double> straight, IReadOnlyDictionary<string, double> resumed, double iterations) =
            await StraightAndResumedAsync(c => MlpTraining.RunAndReportAsync(c, o), every: 30, resumeAt: 60);
        Assert.That(iterations, Is.EqualTo(Workers * (92 - 60)), "minibatches 60..91 of each worker, once");
        Assert.That(resumed["accuracy"], Is.EqualTo(straight["accuracy"]).Within(0.03));
    }

    // Runs the job straight through with a checkpoint every few clocks (all kept), then again from
    // the checkpoint at resumeAt: worker 0's final metrics of both, and the iterations the resumed workers ran.
    private async Task<(IReadOnlyDictionary<string, double> Straight, IReadOnlyDictionary<string, double> Resumed, double ResumedIterations)> StraightAndResumedAsync(
        Func<WorkerClient, Task> work, int every, long resumeAt)
    {
        var policy = new CheckpointPolicy { Directory = _dir, Every = every, Keep = 100 };
        Dictionary<int, ProgressReport> straight = await InProcessJob.RunAsync(Servers, Workers, work, TimeSpan.FromSeconds(80), policy);
        var store = new CheckpointStore(_dir);
        Assert.That(store.Clocks(), Does.Contain(resumeAt), "the straight run took the checkpoint resumed from");
        var resume = new CheckpointSearch(store.Validate(resumeAt), store.FolderOf(resumeAt), []);
        Dictionary<int, ProgressReport> resumed = await InProcessJob.RunAsync(Servers, Workers, work, TimeSpan.FromSeconds(80), policy with { Resume = resume });
        return (straight[0].Metrics, resumed[0].Metrics, resumed.Values.Sum(r => r.Metrics["iterations"]));
    }
}
