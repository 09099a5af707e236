using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cli.Progress;
using ParameterServer.Fast.Cluster.Protocol;

namespace ParameterServer.Fast.Cli.Tests;

public class ProgressTests
{
    [Test]
    public void TheTallySumsWorkersIntoFractionThroughputAndEta()
    {
        var tally = new TrainingTally(2, totalIterations: 0, totalExamples: 1000, objectiveName: "loss", examplesName: "items");
        tally.Add(new ProgressReport(0, 1, 0.6, 100, 0, 0, false), seconds: 1);
        tally.Add(new ProgressReport(1, 1, 0.4, 100, 0, 0, false), seconds: 2);
        TrainingSnapshot s = tally.Snapshot(seconds: 3);
        Assert.That(tally.Unit, Is.EqualTo("items"));
        Assert.That(s.Done, Is.EqualTo(200));
        Assert.That(s.Fraction, Is.EqualTo(0.2).Within(1e-12));
        Assert.That(s.ExamplesPerSecond, Is.EqualTo(100).Within(1e-9), "100 more items in the 1 s between the first report and the last");
        Assert.That(s.EtaSeconds, Is.EqualTo(8).Within(1e-9), "800 items to go at 100 a second");
        Assert.That(s.Objective, Is.EqualTo(0.5).Within(1e-12), "the mean of the workers' latest objectives");
        Assert.That(s.AllDone, Is.False);
    }

    [Test]
    public void AFinalReportNeverMovesProgressBackwards()
    {
        var tally = new TrainingTally(1, totalIterations: 10, totalExamples: 0, objectiveName: null);
        tally.Add(new ProgressReport(0, 8, 0, 800, 0, 0, false), 1);
        tally.Add(new ProgressReport(0, 2, 0, 1000, 0, 0, true), 2);
        TrainingSnapshot s = tally.Snapshot(2);
        Assert.That(s.Iterations, Is.EqualTo(8));
        Assert.That(s.Fraction, Is.EqualTo(1), "every worker done");
        Assert.That(s.AllDone, Is.True);
        Assert.That(double.IsNaN(s.Objective), Is.True, "no objective reported");
    }

    [Test]
    public void WithoutATotalThereIsNoFractionButStillAThroughput()
    {
        var tally = new TrainingTally(1, 0, 0, "objective");
        tally.Add(new ProgressReport(0, 1, 0.5, 0, 0, 0, false), 1);
        Assert.That(double.IsNaN(tally.Snapshot(1).ExamplesPerSecond), Is.True, "one report is no rate yet");
        tally.Add(new ProgressReport(0, 3, 0.25, 300, 0, 0, false), 4);
        TrainingSnapshot s = tally.Snapshot(10);
        Assert.That(double.IsNaN(s.Fraction), Is.True);
        string line = PlainJobProgress.Line(tally, s);
        Assert.That(line, Does.Contain("iterations 3").And.Contain("objective 0.2500").And.Contain("100/s"), "300 examples in the 3 s between reports; the 6 s after them do not count");
        Assert.That(line, Does.Not.Contain("ETA"));
    }

    [Test]
    public void ThroughputStopsAtTheLastReportThatMovedTheWorkForward()
    {
        var tally = new TrainingTally(2, 0, 400, null);
        tally.Add(new ProgressReport(0, 1, 0, 100, 0, 0, false), 1);
        tally.Add(new ProgressReport(1, 1, 0, 100, 0, 0, false), 1.5);
        tally.Add(new ProgressReport(0, 2, 0, 200, 0, 0, false), 2);
        tally.Add(new ProgressReport(1, 2, 0, 200, 0, 0, false), 3);
        tally.Add(new ProgressReport(0, 1, 0, 200, 0, 0, true), 9);
        TrainingSnapshot s = tally.Snapshot(12);
        Assert.That(s.ExamplesPerSecond, Is.EqualTo(150).Within(1e-9), "300 examples from 1 s to 3 s; the final report at 9 s moved nothing");
        Assert.That(s.EtaSeconds, Is.Zero, "all 400 examples are in");
    }

    [Test]
    public void ReportsOfUnknownWorkersAreIgnored()
    {
        var tally = new TrainingTally(1, 10, 0, null);
        tally.Add(new ProgressReport(5, 3, 0, 0, 0, 0, false), 1);
        Assert.That(tally.Snapshot(1).Iterations, Is.Zero);
    }

    [Test]
    public void AnythingButTheTerminalGetsPlainLines()
    {
        var output = new StringWriter();
        JobProgress view = JobProgress.For(output, quiet: false);
        Assert.That(view, Is.TypeOf<PlainJobProgress>());
        view.RunAsync(() =>
        {
            using (IProgressStage stage = view.BeginStage("generating data", 100, "examples"))
                stage.Report(100);
            view.BeginTraining(new TrainingTally(1, 4, 0, "loss"), "app");
            for (int i = 1; i <= 4; i++)
                view.OnReport(new ProgressReport(0, i, 1.0 / i, i * 10, 0, 0, i == 4), i);
            return Task.FromResult(0);
        }).GetAwaiter().GetResult();
        view.Summary("done in 4.0 s", [new BenchResult("objective", 0.25, "loss")]);
        string text = output.ToString();
        Assert.That(text, Does.Contain("generating data: done in"));
        Assert.That(text, Does.Contain("100 %").And.Contain("iterations 4/4").And.Contain("loss 0.3333"));
        Assert.That(text, Does.Contain("done in 4.0 s").And.Contain("objective"));
        Assert.That(text, Does.Not.Contain("\u001b["), "no terminal escapes in plain output");
    }

    [Test]
    public void QuietShowsNoProgressButTheSummary()
    {
        var output = new StringWriter();
        JobProgress view = JobProgress.For(output, quiet: true);
        view.BeginTraining(new TrainingTally(1, 4, 0, "loss"), "app");
        view.OnReport(new ProgressReport(0, 4, 0.5, 40, 0, 0, true), 1);
        using (view.BeginStage("reading", 0, "examples"))
        {
        }
        view.Summary("done", [new BenchResult("seconds", 1, "s")]);
        Assert.That(output.ToString(), Does.Not.Contain("iterations").And.Not.Contain("reading"));
        Assert.That(output.ToString(), Does.Contain("seconds"));
    }
}
