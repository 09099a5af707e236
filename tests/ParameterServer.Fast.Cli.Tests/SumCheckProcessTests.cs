using System.Text.RegularExpressions;

namespace ParameterServer.Fast.Cli.Tests;

/// <summary>
/// The exact-check app as operators run it, `psf local --app sum-check`, with real processes over
/// loopback: with R = 2 servers killed by SIGKILL, joining or drained in the middle of the pushes
/// change no row of the final tables (each equals the exact sum of every push, i.e. the
/// fault-free result).
/// </summary>
public class SumCheckProcessTests
{
    private const double RowsChecked = 20_000 + 16_384;

    [Test, CancelAfter(180_000)]
    public async Task AServerKilledMidJobWithTwoReplicasLeavesEveryRowExact()
    {
        // 150 rounds 10 ms apart: ≥ 1.5 s of pushes, so the kill at 0.5 s lands in the middle.
        SumCheckRun run = await SumCheckRun.ExactAsync(["--servers", "3", "--replicas", "2", "--rounds", "150", "--pace-ms", "10", "--kill", "server:1@0.5"]);
        Assert.That(run.Output, Does.Contain("killed server 1").And.Contain("SIGKILL"));
        Assert.That(run.Result("recovery_seconds"), Is.GreaterThan(0).And.LessThan(10));
    }

    // Two server processes of two shards each, R = 2: every chain has one shard in each process
    // (were the shards failure domains of their own, some chains would hold both shards of one
    // process and die with it). Killing a process takes two shards at once; every row stays exact.
    [TestCase("tcp")]
    [TestCase("shm")]
    [CancelAfter(180_000)]
    public async Task AServerProcessOfTwoShardsKilledMidJobLeavesEveryRowExact(string transport)
    {
        SumCheckRun run = await SumCheckRun.ExactAsync(["--servers", "2", "--shards", "2", "--replicas", "2", "--transport", transport,
            "--rounds", "150", "--pace-ms", "10", "--kill", "server:1@0.5"]);
        Assert.That(run.Output, Does.Contain("2 servers of 2 shards each"));
        Assert.That(run.Output, Does.Contain("killed server 1").And.Contain("SIGKILL"));
        // Both shards of the killed process were seen to die (their ranks are whatever order the
        // four shards registered in), and no other server.
        string[] lost = [.. Regex.Matches(run.Output, @"scheduler: server (\d+) lost").Select(m => m.Groups[1].Value).Distinct()];
        Assert.That(lost, Has.Length.EqualTo(2), run.Output);
        Assert.That(run.Result("recovery_seconds"), Is.GreaterThan(0).And.LessThan(10));
    }

    // A server process of two shards joins a running job of two such processes (both shards
    // register and ranges move to them), then one shard of the first process is drained out while
    // its sibling keeps serving. Every row stays exact.
    [TestCase("tcp")]
    [TestCase("shm")]
    [CancelAfter(180_000)]
    public async Task ShardsJoinAndOneIsDrainedWhileEveryRowStaysExact(string transport)
    {
        SumCheckRun run = await SumCheckRun.ExactAsync(["--servers", "2", "--shards", "2", "--replicas", "2", "--transport", transport,
            "--rounds", "200", "--pace-ms", "10", "--add", "server@0.5", "--drain", "server:1@1.2"], quiet: false);
        Assert.That(run.Output, Does.Contain("server 4 at").And.Contain("server 5 at"), "both shards of the new process joined");
        Assert.That(run.Output, Does.Contain("the server of rank 1 is drained and told to stop"));
    }

    [Test, CancelAfter(60_000)]
    public async Task BadSumCheckOptionsAreAUsageErrorNamingThem()
    {
        (int code, string output) = await PsfChild.RunAsync(["local", "--app", "sum-check", "--rounds", "0"], TimeSpan.FromSeconds(50));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(output, Does.Contain("--rounds"));
    }

    /// <summary>A finished `psf local --app sum-check` job with 2 workers: its output and its --json results.</summary>
    private sealed record SumCheckRun(string Output, Dictionary<string, double> Results)
    {
        public double Result(string name) => Results[name];

        // Runs the job, and asserts what every run must show: it succeeded, checked every row, and found each exact.
        public static async Task<SumCheckRun> ExactAsync(string[] options, bool quiet = true)
        {
            string dir = Path.Combine(Path.GetTempPath(), $"psf-sumcheck-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            try
            {
                string json = Path.Combine(dir, "results.json");
                (int code, string output) = await PsfChild.RunAsync(
                    ["local", "--app", "sum-check", "--workers", "2", .. options, .. quiet ? ["--quiet"] : Array.Empty<string>(), "--json", json], TimeSpan.FromMinutes(2));
                TestContext.Out.WriteLine(output);
                Assert.That(code, Is.EqualTo(0), output);
                var run = new SumCheckRun(output, Bench.JsonReport.ReadResults(json));
                Assert.That(run.Result("rows_checked"), Is.EqualTo(RowsChecked));
                Assert.That(run.Result("mismatches"), Is.Zero, output);
                return run;
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
