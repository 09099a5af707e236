namespace ParameterServer.Fast.Cli.Tests;

/// <summary>
/// Rebuilt replicas in a real job: `psf local` over loopback TCP with 3 server processes and two
/// replicas; one server is SIGKILLed, its chains are rebuilt onto the survivors, then a second
/// server is SIGKILLed. Without the rebuild the ranges the two shared would be gone; with it the
/// job finishes on the last server with the fault-free objective.
/// </summary>
public class LocalRebuildProcessTests
{
    [Test, CancelAfter(300_000)]
    public async Task TwoServersKilledOneAfterTheRebuildLeaveTheObjectiveAsWithoutFaults()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"psf-rebuild-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            // Worker 1 sleeps 100 ms per iteration (32 of them): ≥ 3.2 s of training, so both kills land in it.
            string[] common = ["--examples", "60000", "--epochs", "4", "--straggler", "100", "--quiet", "--servers", "3", "--replicas", "2"];
            (int cleanCode, string cleanOut) = await LocalProcessTests.RunPsf(["local", .. common, "--json", Path.Combine(dir, "clean.json")]);
            Assert.That(cleanCode, Is.EqualTo(0), cleanOut);
            (int code, string output) = await LocalProcessTests.RunPsf(["local", .. common, "--kill", "server:1@1", "--kill", "server:2@1.5", "--json", Path.Combine(dir, "killed.json")]);
            Assert.That(code, Is.EqualTo(0), output);
            // Both kills landed while the job ran (the second waits for the rebuild after the first).
            Assert.That(output, Does.Contain("killed server 1").And.Contain("killed server 2"), output);
            double clean = LocalProcessTests.Read(Path.Combine(dir, "clean.json"), "objective");
            double killed = LocalProcessTests.Read(Path.Combine(dir, "killed.json"), "objective");
            double rebuild = LocalProcessTests.Read(Path.Combine(dir, "killed.json"), "rebuild_seconds");
            TestContext.Out.WriteLine($"objective {clean:F4} fault-free, {killed:F4} with servers 1 and 2 killed; rebuild {rebuild:F3} s");
            Assert.That(killed, Is.EqualTo(clean).Within(0.01 * clean));
            Assert.That(rebuild, Is.GreaterThan(0).And.LessThan(10));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
