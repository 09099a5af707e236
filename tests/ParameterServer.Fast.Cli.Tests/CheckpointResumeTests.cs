using ParameterServer.Fast.Cluster.Checkpoints;

namespace ParameterServer.Fast.Cli.Tests;

/// <summary>
/// The chaos test of checkpoints: `psf local` with its servers and workers in their own processes
/// takes checkpoints, the whole process tree is killed with SIGKILL once one is committed, and
/// `psf local --resume` finishes the job. Count-min through the Sum updater is exactly checkable:
/// a resumed run's sketch must be the fault-free run's, counter for counter (its digest), and
/// every row must sum to the items streamed — an acknowledged update lost or applied twice
/// changes both. Sparse logistic regression, whose runs differ in update order anyway, must end
/// within 1% of the fault-free objective. Damaged checkpoints are skipped with the reason, or
/// refused when none is intact.
/// </summary>
[NonParallelizable]
public class CheckpointResumeTests
{
    // 2 workers × 80 batches of 250,000 items; a checkpoint every 8 batches (10 in the job), all
    // counters below 2^24 so float sums are exact in any order.
    private static readonly string[] s_countMin =
        ["--app", "countmin", "--items", "40000000", "--batch", "250000", "--width", "65536", "--vocabulary", "1000000", "--quiet"];

    private string _dir = "";
    private static double? s_faultFreeDigest;

    [SetUp]
    public void CreateFolder()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"psf-ckpt-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    // With 2 shards per server process the resumed processes must hold their ranges where the
    // killed ones did: psf local names their failure domains by their place in the job.
    [TestCase("tcp", 1), TestCase("shm", 1), TestCase("tcp", 2), CancelAfter(300_000)]
    public async Task CountMinResumedAfterTheWholeClusterIsKilledEqualsAFaultFreeRun(string transport, int shards)
    {
        double faultFree = await FaultFreeDigestAsync();
        string checkpoints = Path.Combine(_dir, "checkpoints");
        string[] job = [.. s_countMin, "--transport", transport, "--shards", shards.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--checkpoint-dir", checkpoints, "--checkpoint-every", "8"];

        long lastGood = await KillAfterFirstCheckpointAsync(job, checkpoints);

        string json = Path.Combine(_dir, "resumed.json");
        (int code, string output) = await PsfProcess.RunAsync(["local", .. job, "--resume", "--json", json]);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain($"resuming from the checkpoint at clock {lastGood} "));
        Assert.That(PsfProcess.Result(json, "resumed_from_clock"), Is.EqualTo(lastGood));
        Assert.That(PsfProcess.Result(json, "row_total_error"), Is.Zero, "every row of the sketch sums to the items streamed: nothing lost, nothing twice");
        Assert.That(PsfProcess.Result(json, "sketch_digest"), Is.EqualTo(faultFree), "the resumed sketch is the fault-free one, counter for counter");
        Assert.That(PsfProcess.Result(json, "checkpoints_committed"), Is.GreaterThan(0), "the resumed job goes on taking checkpoints");
    }

    [Test, CancelAfter(300_000)]
    public async Task SparseLRResumedAfterTheWholeClusterIsKilledReachesTheFaultFreeObjective()
    {
        string[] common = ["--examples", "60000", "--epochs", "10", "--baseline", "off", "--quiet", "--transport", "tcp"];
        string cleanJson = Path.Combine(_dir, "clean.json");
        (int cleanCode, string cleanOut) = await PsfProcess.RunAsync(["local", .. common, "--json", cleanJson]);
        Assert.That(cleanCode, Is.EqualTo(0), cleanOut);

        string checkpoints = Path.Combine(_dir, "checkpoints");
        // A checkpoint after every pass over the 8 feature blocks.
        string[] job = [.. common, "--checkpoint-dir", checkpoints, "--checkpoint-every", "8"];
        long lastGood = await KillAfterFirstCheckpointAsync(job, checkpoints);

        string json = Path.Combine(_dir, "resumed.json");
        (int code, string output) = await PsfProcess.RunAsync(["local", .. job, "--resume", "--json", json]);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(PsfProcess.Result(json, "resumed_from_clock"), Is.EqualTo(lastGood));
        double clean = PsfProcess.Result(cleanJson, "objective"), resumed = PsfProcess.Result(json, "objective");
        TestContext.Out.WriteLine($"objective {clean:F5} fault-free, {resumed:F5} resumed from clock {lastGood}");
        Assert.That(resumed, Is.EqualTo(clean).Within(0.01 * clean));
    }

    [Test, CancelAfter(300_000)]
    public async Task ADamagedNewestCheckpointIsSkippedWithItsReasonAndAllDamagedIsAnError()
    {
        double faultFree = await FaultFreeDigestAsync();
        string checkpoints = Path.Combine(_dir, "checkpoints");
        string[] job = [.. s_countMin, "--transport", "tcp", "--checkpoint-dir", checkpoints, "--checkpoint-every", "8"];
        (int code, string output) = await PsfProcess.RunAsync(["local", .. job]);
        Assert.That(code, Is.EqualTo(0), output);
        var store = new CheckpointStore(checkpoints);
        Assert.That(store.Clocks(), Is.EqualTo(new long[] { 80, 72 }), "the newest two of the ten are kept");

        // One byte flipped in the middle of a server's file of the newest checkpoint.
        string newest = Path.Combine(store.FolderOf(80), store.ReadManifest(80).Files[0].FileName);
        FlipByte(newest);
        string json = Path.Combine(_dir, "resumed.json");
        (code, output) = await PsfProcess.RunAsync(["local", .. job, "--resume", "--json", json]);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("skipping the checkpoint at clock 80").And.Contain(newest).And.Contain("checksum"));
        Assert.That(output, Does.Contain("resuming from the checkpoint at clock 72 "));
        Assert.That(PsfProcess.Result(json, "sketch_digest"), Is.EqualTo(faultFree), "resumed from the older checkpoint, still exactly the fault-free sketch");
        Assert.That(PsfProcess.Result(json, "row_total_error"), Is.Zero);

        // The resumed job committed a fresh clock-80 checkpoint and pruned to two: damage both.
        string[] files = [.. store.Clocks().Select(c => Path.Combine(store.FolderOf(c), store.ReadManifest(c).Files[^1].FileName))];
        foreach (string f in files)
        {
            using var stream = new FileStream(f, FileMode.Open);
            stream.SetLength(stream.Length / 2);
        }
        (code, output) = await PsfProcess.RunAsync(["local", .. job, "--resume"]);
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("nothing to resume").And.Contain("truncated"));
        foreach (string f in files)
            Assert.That(output, Does.Contain(f), "each damaged file is named");
    }

    [Test, CancelAfter(60_000)]
    public async Task ResumingWithoutAnyCheckpointFailsAndSaysSo()
    {
        (int code, string output) = await PsfProcess.RunAsync(["local", .. s_countMin, "--checkpoint-dir", _dir, "--resume"]);
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("nothing to resume").And.Contain("holds no checkpoint"));

        (code, output) = await PsfProcess.RunAsync(["local", .. s_countMin, "--resume"]);
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("--resume needs --checkpoint-dir"));
    }

    // Starts the job, waits (bounded) until a checkpoint is committed, then SIGKILLs psf with every
    // server and worker at once. Returns the clock of the last good checkpoint left behind.
    private async Task<long> KillAfterFirstCheckpointAsync(string[] job, string checkpoints)
    {
        var store = new CheckpointStore(checkpoints);
        using PsfProcess running = PsfProcess.Start(["local", .. job]);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (store.FindLastGood().Found is null)
        {
            if (running.HasExited)
                Assert.Fail($"psf ended before any checkpoint was committed:\n{running.Output}");
            if (waited.Elapsed > TimeSpan.FromSeconds(120))
                Assert.Fail($"no checkpoint committed within 120 s:\n{running.Output}");
            await Task.Delay(10);
        }
        Assert.That(running.HasExited, Is.False, "the job is still running when it is killed");
        running.KillTree();
        int killed = running.Id;
        RemoveSharedMemoryOf(killed);
        CheckpointSearch left = store.FindLastGood();
        Assert.That(left.Found, Is.Not.Null);
        TestContext.Out.WriteLine($"killed psf {killed} after {waited.Elapsed.TotalSeconds:0.0} s; last good checkpoint at clock {left.Found!.Clock}");
        return left.Found.Clock;
    }

    // The shm rings of a job killed with SIGKILL stay in /dev/shm (nothing ran to unlink them).
    private static void RemoveSharedMemoryOf(int pid)
    {
        if (!Directory.Exists("/dev/shm"))
            return;
        foreach (string f in Directory.EnumerateFiles("/dev/shm", $"*psf-job-{pid}-*"))
            File.Delete(f);
    }

    private async Task<double> FaultFreeDigestAsync()
    {
        if (s_faultFreeDigest is double known)
            return known;
        string json = Path.Combine(_dir, "fault-free.json");
        (int code, string output) = await PsfProcess.RunAsync(["local", .. s_countMin, "--transport", "tcp", "--json", json]);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(PsfProcess.Result(json, "row_total_error"), Is.Zero, output);
        s_faultFreeDigest = PsfProcess.Result(json, "sketch_digest");
        return s_faultFreeDigest.Value;
    }

    private static void FlipByte(string path)
    {
        using var stream = new FileStream(path, FileMode.Open);
        stream.Position = stream.Length / 2;
        int b = stream.ReadByte();
        stream.Position = stream.Length / 2;
        stream.WriteByte((byte)(b ^ 0x5A));
    }
}
