namespace ParameterServer.Fast.Cli.Tests;

/// <summary>
/// The exact-check app as operators run it, `psf local --app sum-check`, with real processes over
/// loopback TCP: with R = 2 a server killed by SIGKILL in the middle of the pushes changes no row
/// of the final tables (each equals the exact sum of every push, i.e. the fault-free result).
/// </summary>
public class SumCheckProcessTests
{
    [Test, CancelAfter(180_000)]
    public async Task AServerKilledMidJobWithTwoReplicasLeavesEveryRowExact()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"psf-sumcheck-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string json = Path.Combine(dir, "killed.json");
            // 150 rounds 10 ms apart: ≥ 1.5 s of pushes, so the kill at 0.5 s lands in the middle.
            (int code, string output) = await PsfChild.RunAsync(
                ["local", "--app", "sum-check", "--servers", "3", "--workers", "2", "--replicas", "2", "--rounds", "150", "--pace-ms", "10",
                 "--kill", "server:1@0.5", "--quiet", "--json", json], TimeSpan.FromMinutes(2));
            TestContext.Out.WriteLine(output);
            Assert.That(code, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("killed server 1").And.Contain("SIGKILL"));
            Assert.That(PsfChild.Result(json, "rows_checked"), Is.EqualTo(20_000 + 16_384));
            Assert.That(PsfChild.Result(json, "mismatches"), Is.Zero);
            Assert.That(PsfChild.Result(json, "recovery_seconds"), Is.GreaterThan(0).And.LessThan(10));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // Two server processes of two shards each, R = 2: every chain has one shard in each process
    // (were the shards failure domains of their own, some chains would hold both shards of one
    // process and die with it). Killing a process takes two shards at once; every row stays exact.
    [TestCase("tcp")]
    [TestCase("shm")]
    [CancelAfter(180_000)]
    public async Task AServerProcessOfTwoShardsKilledMidJobLeavesEveryRowExact(string transport)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"psf-shards-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string json = Path.Combine(dir, "killed.json");
            (int code, string output) = await PsfChild.RunAsync(
                ["local", "--app", "sum-check", "--servers", "2", "--shards", "2", "--workers", "2", "--replicas", "2", "--transport", transport,
                 "--rounds", "150", "--pace-ms", "10", "--kill", "server:1@0.5", "--quiet", "--json", json], TimeSpan.FromMinutes(2));
            TestContext.Out.WriteLine(output);
            Assert.That(code, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("2 servers of 2 shards each"));
            Assert.That(output, Does.Contain("killed server 1").And.Contain("SIGKILL"));
            // Both shards of the killed process were seen to die (their ranks are whatever order the
            // four shards registered in), and no other server.
            string[] lost = [.. System.Text.RegularExpressions.Regex.Matches(output, @"scheduler: server (\d+) lost").Select(m => m.Groups[1].Value).Distinct()];
            Assert.That(lost, Has.Length.EqualTo(2), output);
            Assert.That(PsfChild.Result(json, "rows_checked"), Is.EqualTo(20_000 + 16_384));
            Assert.That(PsfChild.Result(json, "mismatches"), Is.Zero);
            Assert.That(PsfChild.Result(json, "recovery_seconds"), Is.GreaterThan(0).And.LessThan(10));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // A server process of two shards joins a running job of two such processes (both shards
    // register and ranges move to them), then one shard of the first process is drained out while
    // its sibling keeps serving. Every row stays exact.
    [TestCase("tcp")]
    [TestCase("shm")]
    [CancelAfter(180_000)]
    public async Task ShardsJoinAndOneIsDrainedWhileEveryRowStaysExact(string transport)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"psf-shards-elastic-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string json = Path.Combine(dir, "changed.json");
            (int code, string output) = await PsfChild.RunAsync(
                ["local", "--app", "sum-check", "--servers", "2", "--shards", "2", "--workers", "2", "--replicas", "2", "--transport", transport,
                 "--rounds", "200", "--pace-ms", "10", "--add", "server@0.5", "--drain", "server:1@1.2", "--json", json], TimeSpan.FromMinutes(2));
            TestContext.Out.WriteLine(output);
            Assert.That(code, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("server 4 at").And.Contain("server 5 at"), "both shards of the new process joined");
            Assert.That(output, Does.Contain("the server of rank 1 is drained and told to stop"));
            Assert.That(PsfChild.Result(json, "mismatches"), Is.Zero);
            Assert.That(PsfChild.Result(json, "rows_checked"), Is.EqualTo(20_000 + 16_384));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task BadSumCheckOptionsAreAUsageErrorNamingThem()
    {
        (int code, string output) = await PsfChild.RunAsync(["local", "--app", "sum-check", "--rounds", "0"], TimeSpan.FromSeconds(50));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(output, Does.Contain("--rounds"));
    }
}
