using ParameterServer.Fast.Cli.Reports;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Cli.Tests;

[NonParallelizable]
public class StatusCommandTests
{
    private static (int Code, string Out, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliMain.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static ClusterStatus Sample(int rangesPerTable)
    {
        KeyRange[] parts = new KeyRange(0, 1UL << 40).Split(rangesPerTable);
        return new ClusterStatus
        {
            Taken = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero), RangeMapVersion = 12, Servers = 2, Workers = 2, Replicas = 2,
            JobClock = 40, LastCheckpointClock = 30,
            Nodes =
            [
                new(2, NodeRole.Server, 1, "tcp://127.0.0.1:7101", NodeState.Dead, 38, 6.2, 0, 0),
                new(NodeIds.Worker(1), NodeRole.Worker, 1, "", NodeState.Live, 41, 0.1, 800, 1.5e6),
                new(0, NodeRole.Scheduler, 0, "tcp://127.0.0.1:7070", NodeState.Live, 0, 0, 0, 0),
                new(1, NodeRole.Server, 0, "tcp://127.0.0.1:7100", NodeState.Live, 40, 0.05, 12345.6, 3.5e7),
                new(NodeIds.Worker(0), NodeRole.Worker, 0, "", NodeState.Done, 40, 0.2, 100, 0.5e6),
            ],
            Tables = [new TableStatus(1, "weights", [.. parts.Select((p, i) => new RangeStatus(p, i % 2 == 0 ? [1, 2] : [2, 1]))])],
        };
    }

    [Test]
    public void TheStatusTableShowsNodesClocksThroughputAndReplicaChains()
    {
        var text = new StringWriter();
        StatusTable.Write(Sample(4), text);
        string s = text.ToString();
        TestContext.Out.WriteLine(s);
        string[] lines = s.Split('\n');
        Assert.That(lines[0], Is.EqualTo("job: range map v12, clock 40 (slowest live worker), last checkpoint at clock 30"));
        Assert.That(lines[1], Does.Contain("2 servers, 2 workers, 2 replicas").And.Contain("2026-03-04 05:06:07Z"));
        // Nodes in role then rank order, with state, clock, heard and throughput columns.
        int header = Array.FindIndex(lines, l => l.StartsWith("NODE", StringComparison.Ordinal));
        Assert.That(lines[header], Does.Match(@"^NODE\s+STATE\s+CLOCK\s+HEARD\s+REQ/S\s+MB/S\s+ENDPOINT$"));
        Assert.That(lines[header + 1], Does.Match(@"^scheduler\s+live\s+-\s+0\.0 s\s+-\s+-\s+tcp://127\.0\.0\.1:7070$"));
        Assert.That(lines[header + 2], Does.Match(@"^server-0\s+live\s+40\s+0\.1 s\s+12,346\s+35\.0\s+tcp://127\.0\.0\.1:7100$"));
        Assert.That(lines[header + 3], Does.Match(@"^server-1\s+dead\s+38\s+6\.2 s\s+0\s+0\.0\s+tcp://127\.0\.0\.1:7101$"));
        Assert.That(lines[header + 4], Does.Match(@"^worker-0\s+done\s+40"));
        Assert.That(lines[header + 5], Does.Match(@"^worker-1\s+live\s+41\s+0\.1 s\s+800\s+1\.5$"));
        Assert.That(lines[header + 6], Does.Match(@"^servers\s+1 live\s+12,346\s+35\.0$"));
        Assert.That(lines[header + 7], Does.Match(@"^workers\s+1 live\s+800\s+1\.5$"));
        // Ranges with their chains, primary first, by node name.
        Assert.That(s, Does.Match(@"TABLE\s+RANGE\s+PRIMARY\s+BACKUPS"));
        Assert.That(s, Does.Match(@"weights\s+\[0, 274877906944\)\s+server-0\s+server-1"));
        Assert.That(s, Does.Match(@"\n\s+\[274877906944, 549755813888\)\s+server-1\s+server-0"));
    }

    [Test]
    public void ManyRangesAreSummarisedUnlessAllAreAskedFor()
    {
        var text = new StringWriter();
        StatusTable.Write(Sample(40), text);
        Assert.That(text.ToString().Split('\n').Count(l => l.Contains("server-0  server-1", StringComparison.Ordinal) || l.Contains("server-1  server-0", StringComparison.Ordinal)),
            Is.EqualTo(StatusTable.RangesShown));
        Assert.That(text.ToString(), Does.Contain("table 'weights': 28 more of 40 ranges (--ranges lists all); primaries: server-0 20, server-1 20"));
        text = new StringWriter();
        StatusTable.Write(Sample(40), text, allRanges: true);
        Assert.That(text.ToString(), Does.Not.Contain("more of"));
    }

    [Test]
    public void StatusWithoutASchedulerOrSecretIsAUsageError()
    {
        Environment.SetEnvironmentVariable("PSF_SECRET", null);
        (int code, _, string error) = Run("status");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--scheduler"));
        (code, _, error) = Run("status", "--scheduler", "tcp://127.0.0.1:1");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("PSF_SECRET"));
        (code, _, error) = Run("status", "--scheduler", "inproc://x");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("tcp://"));
    }

    [Test]
    public void DrainWithoutASchedulerServerOrSecretIsAUsageError()
    {
        Environment.SetEnvironmentVariable("PSF_SECRET", null);
        (int code, _, string error) = Run("drain", "--server", "1");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--scheduler"));
        (code, _, error) = Run("drain", "--scheduler", "tcp://127.0.0.1:1");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--server RANK"));
        (code, _, error) = Run("drain", "--scheduler", "tcp://127.0.0.1:1", "--server", "x");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--server must be a whole number"));
        (code, _, error) = Run("drain", "--scheduler", "tcp://127.0.0.1:1", "--server", "1");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("PSF_SECRET"));
    }

    [Test]
    public void StatusOfAnAbsentSchedulerFailsNamingIt()
    {
        Environment.SetEnvironmentVariable("PSF_SECRET", "status-test-secret-0123456789abcdef");
        try
        {
            int port;
            using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
            }
            (int code, _, string error) = Run("status", "--scheduler", $"tcp://127.0.0.1:{port}", "--timeout", "3");
            Assert.That(code, Is.EqualTo(1));
            Assert.That(error, Does.StartWith("psf status: ").And.Contain($"127.0.0.1:{port}"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PSF_SECRET", null);
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task StatusOfARunningSchedulerIsPrinted()
    {
        const string secretText = "status-test-secret-0123456789abcdef";
        Environment.SetEnvironmentVariable("PSF_SECRET", secretText);
        try
        {
            var transport = new TcpTransport(ClusterSecret.FromText(secretText));
            await using var scheduler = new SchedulerNode(transport, Endpoint.Parse("tcp://127.0.0.1:0"), new JobOptions());
            scheduler.Start();
            (int code, string output, string error) = Run("status", "--scheduler", scheduler.Endpoint.ToString(), "--timeout", "10");
            Assert.That(code, Is.EqualTo(0), error);
            Assert.That(output, Does.StartWith("job: range map"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PSF_SECRET", null);
        }
    }
}
