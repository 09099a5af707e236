namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// Multi-host chaos with real processes: the scheduler, the servers and the workers each in their
/// own network namespace with its own address, joined by veth links to a bridge; links impaired
/// (tc netem delay and loss where the kernel has it; elsewhere loss by nftables and delay by
/// relays in front of the scheduler and the servers) and one server cut off by a partition. The
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

    private const double LossPercent = 1;

    private static NetworkLab CreateLab(int nodes)
    {
        if (NetworkLab.Unavailable() is { } reason)
            Assert.Ignore($"network namespaces unavailable: {reason}");
        return NetworkLab.Create(nodes);
    }

    // One job for both the impaired links and a SIGKILL, as each job costs ~15 s of process
    // start-up on the 2-core build machines and the Chaos fixture should stay near a minute.
    [Test, CancelAfter(150_000)]
    public async Task AJobOverImpairedLinksSeesAKilledServerDeadAtOnceAndEndsWithExactSums()
    {
        using NetworkLab lab = CreateLab(6);
        // 2 ms each way, 1% of packets lost: a congested data-centre path rather than loopback.
        TimeSpan delay = TimeSpan.FromMilliseconds(2);
        TimeSpan relayDelay = TimeSpan.Zero;
        for (int node = 0; node < lab.Nodes; node++)
        {
            LinkImpairment impairment = lab.Impair(node, delay, LossPercent);
            TestContext.Out.WriteLine($"node {node} ({lab.Address(node)}): {impairment.Applied}");
            if (!impairment.Impaired)
                Assert.Ignore($"links cannot be impaired here: {impairment.Applied}");
            relayDelay = impairment.RelayDelay;
        }
        if (relayDelay > TimeSpan.Zero)
            await MeasureRelayDelayAsync(lab, relayDelay);
        string json = Path.Combine(Path.GetTempPath(), $"psf-chaos-{Guid.NewGuid():N}.json");
        using var job = new ChaosJob(lab, servers: 3, workers: 2, json) { RelayDelay = relayDelay };
        try
        {
            await job.StartAsync(replicas: 2, SumCheck(rounds: 100, paceMs: 10));
            await job.WaitForTrainingAsync();
            await KillAServerAsync(job);
            await job.FinishAsync(TimeSpan.FromSeconds(120));
            string log = job.Scheduler!.Output;
            TestContext.Out.WriteLine(log);
            Assert.That(log, Does.Contain("the next server of each of its chains takes over"));
            Assert.That(log, Does.Not.Contain("nothing heard from"), "seen by its closed connections, not by missed heartbeats");
            Assert.That(PsfChild.Result(json, "worker_0_rows_checked"), Is.EqualTo(4000 + 2048));
            Assert.That(PsfChild.Result(json, "worker_0_mismatches"), Is.Zero, job.Log());
            long dropped = Enumerable.Range(0, lab.Nodes).Sum(lab.Dropped);
            TestContext.Out.WriteLine($"packets dropped by the impairment: {dropped}");
            Assert.That(dropped, Is.GreaterThan(0), "the links really lost packets");
            foreach (DelayRelay relay in job.Relays)
            {
                TestContext.Out.WriteLine($"relay {relay.LocalEndPoint}: {relay.Connections} connections, {relay.BytesRelayed} bytes");
                Assert.That(relay.BytesRelayed, Is.GreaterThan(0), $"the job's traffic went through the relay at {relay.LocalEndPoint}");
            }
        }
        finally
        {
            File.Delete(json);
        }
    }

    // SIGKILL to the second server: the kernel closes its sockets and the relays (if any) pass
    // that on, so the scheduler learns it from the closed connection, not from 5 s without
    // heartbeats (whose message says "no heartbeat"). The wait is long only for loaded machines.
    private static async Task KillAServerAsync(ChaosJob job)
    {
        Assert.That(job.Scheduler!.Output, Does.Not.Contain("lost"), "no server lost before the kill");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        job.Server(1).Kill();
        bool seen = await job.Scheduler.WaitForOutputAsync("lost", TimeSpan.FromSeconds(15));
        TestContext.Out.WriteLine($"server 1 killed; the scheduler saw it {(seen ? $"within {clock.ElapsedMilliseconds} ms" : "not within 15 s")}");
        Assert.That(seen, Is.True, $"the closure reached the scheduler:\n{job.Scheduler.Output}");
        string lost = job.Scheduler.Output.Split('\n').First(line => line.Contains("lost", StringComparison.Ordinal));
        Assert.That(lost, Does.Not.Contain("no heartbeat"), "seen by its closed connections");
    }

    // A TCP ping-pong from a worker's namespace to an echo in a server's, over the lossy links:
    // straight, then through a relay like the job's. The least round trip through the relay must
    // hold both delays; a lost packet or a busy machine only adds, so the minimum is the measure.
    private static async Task MeasureRelayDelayAsync(NetworkLab lab, TimeSpan delay)
    {
        (RoundTripProbe.Result direct, RoundTripProbe.Result relayed) = await lab.ProbeRoundTripsAsync(lab.Nodes - 1, ChaosJob.ServerNode(0), delay, pings: 20);
        TestContext.Out.WriteLine($"relay delay {delay.TotalMilliseconds} ms each way + loss {LossPercent}% by nftables; TCP round trips worker -> server: direct {direct}; through a relay {relayed}");
        Assert.That(relayed.Minimum, Is.GreaterThanOrEqualTo(2 * delay), "a round trip through the relay holds the delay of both directions");
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
