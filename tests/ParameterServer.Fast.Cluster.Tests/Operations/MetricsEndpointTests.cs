using System.Net.Sockets;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Cluster.Protocol;

namespace ParameterServer.Fast.Cluster.Tests.Operations;

/// <summary>
/// The Prometheus endpoint, scraped over loopback like Prometheus would: every instrument of
/// <see cref="NodeMetrics"/> is there with its labels and values; the hot-path calls allocate nothing.
/// </summary>
[NonParallelizable]
public sealed class MetricsEndpointTests
{
    private static string Scrape(MetricsEndpoint endpoint)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return http.GetStringAsync(endpoint.Url).GetAwaiter().GetResult();
    }

    // The sample line of a series with the given labels (any label order), or "" when absent.
    private static string Line(string scrape, string metric, params string[] labels) =>
        scrape.Split('\n').FirstOrDefault(l => l.StartsWith(metric + "{", StringComparison.Ordinal) && labels.All(l.Contains)) ?? "";

    private static double Value(string line) => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    [Test]
    public void AScrapeOverLoopbackFindsEveryInstrument()
    {
        using MetricsEndpoint endpoint = MetricsEndpoint.Start(new MetricsOptions(0));
        Assert.That(endpoint.Url.ToString(), Does.StartWith("http://127.0.0.1:").And.EndWith("/metrics"));
        using var server = new NodeMetrics(NodeRole.Server, 907);
        using var worker = new NodeMetrics(NodeRole.Worker, 907);
        for (int i = 0; i < 3; i++)
            server.RequestHandled(RequestKind.Push, 0.0002);
        server.RequestHandled(RequestKind.Pull, 0.003);
        server.Traffic(TrafficDirection.Received, 1000);
        server.Traffic(TrafficDirection.Sent, 250);
        server.Waited(WaitCause.Consistency, 0.02);
        server.Replicated(0.0015);
        server.SetQueueDepth(QueueKind.Inbox, 17);
        server.SetQueueDepth(QueueKind.HeldPulls, 2);
        server.SetClock(40);
        server.SetClockLag(3);
        server.SetReplicationLag(5);
        worker.Waited(WaitCause.Network, 0.0007);
        worker.Waited(WaitCause.Barrier, 1.5);

        string scrape = Scrape(endpoint);
        TestContext.Out.WriteLine(string.Join('\n', scrape.Split('\n').Where(l => l.Contains("907"))));
        const string node = "node=\"server-907\"", role = "role=\"server\"";
        Assert.That(Value(Line(scrape, "psf_requests_total", node, role, "kind=\"push\"")), Is.EqualTo(3));
        Assert.That(Value(Line(scrape, "psf_requests_total", node, "kind=\"pull\"")), Is.EqualTo(1));
        Assert.That(Value(Line(scrape, "psf_request_duration_seconds_count", node, "kind=\"push\"")), Is.EqualTo(3));
        Assert.That(Value(Line(scrape, "psf_request_duration_seconds_bucket", node, "kind=\"push\"", "le=\"0.00025\"")), Is.EqualTo(3), "seconds-sized buckets");
        Assert.That(Value(Line(scrape, "psf_bytes_total", node, "direction=\"received\"")), Is.EqualTo(1000));
        Assert.That(Value(Line(scrape, "psf_bytes_total", node, "direction=\"sent\"")), Is.EqualTo(250));
        Assert.That(Value(Line(scrape, "psf_wait_duration_seconds_sum", node, "cause=\"consistency\"")), Is.EqualTo(0.02).Within(1e-9));
        Assert.That(Value(Line(scrape, "psf_wait_duration_seconds_count", "node=\"worker-907\"", "role=\"worker\"", "cause=\"barrier\"")), Is.EqualTo(1));
        Assert.That(Value(Line(scrape, "psf_replication_duration_seconds_count", node)), Is.EqualTo(1));
        Assert.That(Value(Line(scrape, "psf_queue_depth", node, "queue=\"inbox\"")), Is.EqualTo(17));
        Assert.That(Value(Line(scrape, "psf_queue_depth", node, "queue=\"held_pulls\"")), Is.EqualTo(2));
        Assert.That(Value(Line(scrape, "psf_clock", node)), Is.EqualTo(40));
        Assert.That(Value(Line(scrape, "psf_clock_lag", node)), Is.EqualTo(3));
        Assert.That(Value(Line(scrape, "psf_replication_lag", node)), Is.EqualTo(5));
    }

    [Test]
    public void ANodeThatIsDisposedLeavesTheGauges()
    {
        using MetricsEndpoint endpoint = MetricsEndpoint.Start(new MetricsOptions(0));
        var node = new NodeMetrics(NodeRole.Server, 908);
        node.SetClock(9);
        Assert.That(Line(Scrape(endpoint), "psf_clock", "node=\"server-908\""), Is.Not.Empty);
        node.Dispose();
        Assert.That(Line(Scrape(endpoint), "psf_clock", "node=\"server-908\""), Is.Empty);
    }

    [Test]
    public void TheHotPathAllocatesNothingWhileExported()
    {
        using MetricsEndpoint endpoint = MetricsEndpoint.Start(new MetricsOptions(0));
        using var node = new NodeMetrics(NodeRole.Server, 909);
        void Work(int i)
        {
            node.RequestHandled((RequestKind)(i % 4), i * 1e-6);
            node.Traffic((TrafficDirection)(i % 2), i);
            node.Waited((WaitCause)(i % 5), i * 1e-6);
            node.Replicated(i * 1e-6);
            node.SetQueueDepth((QueueKind)(i % 4), i);
            node.SetClock(i);
            node.SetClockLag(i % 3);
            node.SetReplicationLag(i % 7);
        }
        // Every label combination once first: the SDK allocates when it first meets a series.
        for (int i = 0; i < 1000; i++)
            Work(i);
        _ = Scrape(endpoint);
        // A per-call allocation shows in every batch of 100,000 rounds; what the runtime allocates
        // once (as tiered compilation swaps in optimised code under a busy test run) lands in one.
        var batches = new long[5];
        for (int b = 0; b < batches.Length; b++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100_000; i++)
                Work(i);
            batches[b] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.That(batches.Min(), Is.Zero, $"bytes allocated by batches of 100,000 rounds of every hot-path call: {string.Join(", ", batches)}");
    }

    [Test]
    public void ABusyPortIsNamedInTheError()
    {
        using var busy = new TcpListener(System.Net.IPAddress.Loopback, 0);
        busy.Start();
        int port = ((System.Net.IPEndPoint)busy.LocalEndpoint).Port;
        var e = Assert.Throws<IOException>(() => MetricsEndpoint.Start(new MetricsOptions(port)).Dispose());
        Assert.That(e!.Message, Does.Contain($"127.0.0.1:{port}"));
    }

    [Test]
    public void OptionsOutOfRangeAreRefused()
    {
        Assert.Throws<ArgumentException>(() => new MetricsOptions(70000).Validate());
        Assert.Throws<ArgumentException>(() => new MetricsOptions(1, "a b").Validate());
    }
}
