namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// Multi-host chaos with real processes: the scheduler, the servers and the workers each in their
/// own network namespace with its own address, joined by veth links to a bridge; links impaired
/// (tc netem delay and loss where the kernel has it) and one server cut off by a partition. The
/// sum-check app makes the verdict exact: every row of the final tables must equal the exact sum
/// of all pushes. Skipped, with the reason, where namespaces cannot be made (not root, no netns).
/// </summary>
[NonParallelizable]
public sealed class NamespaceChaosTests
{
    // Small tables and paced rounds: the job lasts several seconds whatever the machine, so faults
    // land mid-job; key sets that repeat, so cached key lists cross the failover too.
    private static string[] SumCheck(int rounds, int paceMs) =>
        ["--app", "sum-check", "--rounds", rounds.ToString(), "--pace-ms", paceMs.ToString(), "--sparse-keys", "4000", "--dense-keys", "2048", "--key-lists", "8"];

    private static NetworkLab CreateLab(int nodes)
    {
        if (NetworkLab.Unavailable() is { } reason)
            Assert.Ignore($"network namespaces unavailable: {reason}");
        return NetworkLab.Create(nodes);
    }

    [Test, CancelAfter(150_000)]
    public async Task AJobAcrossNamespacesOverImpairedLinksEndsWithExactSums()
    {
        using NetworkLab lab = CreateLab(5);
        string json = Path.Combine(Path.GetTempPath(), $"psf-chaos-{Guid.NewGuid():N}.json");
        using var job = new ChaosJob(lab, servers: 2, workers: 2, json);
        try
        {
            for (int node = 0; node < lab.Nodes; node++)
            {
                string applied = lab.Impair(node, delayMs: 2, lossPercent: 1);
                TestContext.Out.WriteLine($"node {node} ({lab.Address(node)}): {applied}");
                if (applied.EndsWith("no impairment", StringComparison.Ordinal))
                    Assert.Ignore($"links cannot be impaired here: {applied}");
            }
            await job.StartAsync(replicas: 1, SumCheck(rounds: 100, paceMs: 10));
            await job.FinishAsync(TimeSpan.FromSeconds(120));
            TestContext.Out.WriteLine(job.Scheduler!.Output);
            Assert.That(PsfChild.Result(json, "worker_0_rows_checked"), Is.EqualTo(4000 + 2048));
            Assert.That(PsfChild.Result(json, "worker_0_mismatches"), Is.Zero, job.Log());
            long dropped = Enumerable.Range(0, lab.Nodes).Sum(lab.Dropped);
            TestContext.Out.WriteLine($"packets dropped by the impairment: {dropped}");
            Assert.That(dropped, Is.GreaterThan(0), "the links really lost packets");
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Test, CancelAfter(150_000)]
    public async Task AServerCutOffByAPartitionIsDeclaredDeadAndTheSumsStayExact()
    {
        using NetworkLab lab = CreateLab(6);
        string json = Path.Combine(Path.GetTempPath(), $"psf-chaos-{Guid.NewGuid():N}.json");
        using var job = new ChaosJob(lab, servers: 3, workers: 2, json);
        try
        {
            await job.StartAsync(replicas: 2, SumCheck(rounds: 200, paceMs: 20));
            await job.WaitForTrainingAsync();
            await Task.Delay(500);
            // The second server's switch port goes down: its connections stay open on both ends
            // but carry nothing, so only the missing heartbeats can tell the scheduler.
            lab.Partition(ChaosJob.ServerNode(1));
            TestContext.Out.WriteLine($"partitioned {lab.Address(ChaosJob.ServerNode(1))}");
            await job.FinishAsync(TimeSpan.FromSeconds(120));
            string log = job.Scheduler!.Output;
            TestContext.Out.WriteLine(log);
            Assert.That(log, Does.Contain("nothing heard from"), "declared dead by missed heartbeats");
            Assert.That(log, Does.Contain("the next server of each of its chains takes over"));
            Assert.That(PsfChild.Result(json, "worker_0_rows_checked"), Is.EqualTo(4000 + 2048));
            Assert.That(PsfChild.Result(json, "worker_0_mismatches"), Is.Zero, job.Log());
        }
        finally
        {
            File.Delete(json);
        }
    }
}
