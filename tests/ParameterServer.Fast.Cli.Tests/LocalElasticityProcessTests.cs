namespace ParameterServer.Fast.Cli.Tests;

/// <summary>
/// Elasticity in a real job: `psf local` over loopback TCP with 3 server processes and two
/// replicas; a fourth server process is started into the running job (ranges move to it), then
/// the server of rank 0 is drained out and exits. The job finishes with the fault-free objective.
/// </summary>
public class LocalElasticityProcessTests
{
    [Test, CancelAfter(300_000)]
    public async Task AServerAddedAndAnotherDrainedLeaveTheObjectiveAsWithoutChanges()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"psf-elastic-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            // Worker 1 sleeps 40 ms per iteration (128 of them): ≥ 5 s of training, so both changes land in it.
            string[] common = ["--examples", "60000", "--epochs", "16", "--straggler", "40", "--quiet", "--servers", "3", "--replicas", "2"];
            (int cleanCode, string cleanOut) = await LocalProcessTests.RunPsf(["local", .. common, "--json", Path.Combine(dir, "clean.json")]);
            Assert.That(cleanCode, Is.EqualTo(0), cleanOut);
            (int code, string output) = await LocalProcessTests.RunPsf(["local", .. common, "--add", "server@0.5", "--drain", "server:0@3", "--json", Path.Combine(dir, "changed.json")]);
            Assert.That(code, Is.EqualTo(0), output);
            // Both changes happened while the job ran.
            Assert.That(output, Does.Contain("started server 3 into the running job").And.Contain("the server of rank 0 is drained and told to stop"), output);
            double clean = LocalProcessTests.Read(Path.Combine(dir, "clean.json"), "objective");
            double changed = LocalProcessTests.Read(Path.Combine(dir, "changed.json"), "objective");
            double rebalance = LocalProcessTests.Read(Path.Combine(dir, "changed.json"), "rebalance_seconds");
            TestContext.Out.WriteLine($"objective {clean:F4} fault-free, {changed:F4} with a server added and one drained; last change {rebalance:F3} s");
            Assert.That(changed, Is.EqualTo(clean).Within(0.01 * clean));
            Assert.That(rebalance, Is.GreaterThan(0).And.LessThan(30));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
