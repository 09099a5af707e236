using ParameterServer.Fast.Cli.Soak;

namespace ParameterServer.Fast.Cli.Tests;

public class SoakTests
{
    private static readonly SoakTolerance s_tolerance = new(RssBytes: 16 << 20, RssFraction: 0.10, Files: 4);

    private static List<ProcessSample> Series(int count, Func<int, long> rss, Func<int, int> files) =>
        [.. Enumerable.Range(0, count).Select(i => new ProcessSample(i * 5.0, rss(i), files(i), 20))];

    [Test]
    public void AProcessThatWarmsUpThenStaysFlatPasses()
    {
        // Grows fast during the first minute (warm-up), then wobbles by GC by ±4 MiB.
        var samples = Series(60, i => (100L << 20) + Math.Min(i, 12) * (10L << 20) + (i % 3 - 1) * (4L << 20), i => Math.Min(40, 20 + 2 * i));
        SoakVerdict v = SoakVerdict.Judge("server 0", samples, warmUpSeconds: 60, s_tolerance);
        Assert.That(v.Passed, Is.True, v.Failure);
        Assert.That(v.FilesAtEnd, Is.EqualTo(40));
        Assert.That(Math.Abs(v.RssSlopeBytesPerMinute), Is.LessThan(1 << 20));
    }

    [Test]
    public void SteadyMemoryGrowthAfterWarmUpFailsNamingTheFigures()
    {
        var samples = Series(60, i => (200L << 20) + i * (1L << 20), _ => 30);
        SoakVerdict v = SoakVerdict.Judge("worker 1", samples, warmUpSeconds: 60, s_tolerance);
        Assert.That(v.Passed, Is.False);
        Assert.That(v.Failure, Does.Contain("resident memory grew").And.Contain("at most"));
        Assert.That(v.RssSlopeBytesPerMinute, Is.EqualTo(12.0 * (1 << 20)).Within(1));
    }

    [Test]
    public void LeakedDescriptorsFail()
    {
        var samples = Series(60, _ => 100L << 20, i => 30 + i / 4);
        SoakVerdict v = SoakVerdict.Judge("server 2", samples, warmUpSeconds: 60, s_tolerance);
        Assert.That(v.Failure, Does.Contain("open descriptors grew by"));
    }

    [Test]
    public void TooFewSamplesAfterWarmUpFail()
    {
        SoakVerdict v = SoakVerdict.Judge("worker 0", Series(14, _ => 1 << 20, _ => 10), warmUpSeconds: 60, s_tolerance);
        Assert.That(v.Failure, Does.Contain("only 2 samples after warm-up"));
    }

    [TestCase("worker:1@3", "server:N@SECONDS")]
    [TestCase("server:1@50", "at least 15 s before the warm-up ends (60 s)")]
    [TestCase("server:x@5", "server:N@SECONDS")]
    public void KillsThatAreNotServersWithinTheWarmUpAreRefused(string kill, string message)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliMain.Run(["soak", "--minutes", "2", "--kill", kill], output, error);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.ToString(), Does.Contain(message));
    }

    [Test]
    public void ThisProcessCanBeSampledFromProc()
    {
        if (!OperatingSystem.IsLinux())
            Assert.Ignore("/proc is Linux's");
        ProcessSample? s = ProcessSample.Read(Environment.ProcessId, 1.5);
        Assert.That(s, Is.Not.Null);
        Assert.That(s!.Value.RssBytes, Is.GreaterThan(1 << 20));
        Assert.That(s.Value.OpenFiles, Is.GreaterThan(2));
        Assert.That(s.Value.Threads, Is.GreaterThan(1));
        Assert.That(ProcessSample.Read(int.MaxValue, 0), Is.Null, "a process that does not exist");
        using var child = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sleep", "5") { UseShellExecute = false })!;
        try
        {
            Assert.That(ProcessSample.Children(Environment.ProcessId), Does.Contain(child.Id));
            Assert.That(ProcessSample.CommandLine(child.Id), Is.EqualTo("sleep 5"));
        }
        finally
        {
            child.Kill();
        }
    }
}
