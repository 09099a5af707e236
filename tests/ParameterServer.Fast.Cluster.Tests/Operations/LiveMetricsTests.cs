using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Cluster.Tests.Nodes;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Operations;

/// <summary>
/// Operations figures from nodes doing real work over loopback TCP: servers' throughput reaches
/// the scheduler in their heartbeats (so `psf status` shows it), and a Prometheus scrape of a
/// running job has every figure the fault-tolerance issue lists: requests, bytes, queue depths,
/// clock lag, replication lag and wait time by cause.
/// </summary>
[NonParallelizable]
public sealed class LiveMetricsTests
{
    private const ulong Rows = 1 << 14;

    [Test]
    public void ServerLoadRoundTripsAndMalformedLoadIsRefusedNamingIt()
    {
        var load = new ServerLoad(12, 3456, 789);
        Assert.That(ServerLoad.Decode(load.Encode()), Is.EqualTo(load));
        Assert.That(load.Encode(), Has.Length.EqualTo(ServerLoad.Size));
        Assert.That(() => ServerLoad.Decode(load.Encode().AsSpan(0, 20)), Throws.TypeOf<ProtocolException>().With.Message.Contains("bytes sent"));
        Assert.That(() => ServerLoad.Decode([.. load.Encode(), 0]), Throws.TypeOf<ProtocolException>());
        Assert.That(() => ServerLoad.Decode(new ServerLoad(-1, 0, 0).Encode()), Throws.TypeOf<ProtocolException>().With.Message.Contains("negative"));
    }

    [Test, CancelAfter(60_000)]
    public async Task StatusShowsEveryServersThroughputFromItsHeartbeats()
    {
        await using TestCluster cluster = await TestCluster.StartAsync("tcp", servers: 2, workers: 1);
        TableHandle table = await cluster.DeclareEverywhereAsync(TableSpec.Dense("status-load", new KeyRange(0, Rows), 1, UpdaterKind.Sum));
        WorkerClient worker = cluster.Workers[0];
        float[] values = new float[Rows];
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // Pushes and pulls of the whole range (both servers hold part of it) until the status is in.
        Task load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await worker.PushRangeAsync(table, new KeyRange(0, Rows), values);
                await worker.PullRangeAsync(table, new KeyRange(0, Rows), values, Delay.Eventual);
            }
        });
        ClusterStatus status;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            // Rates need two heartbeats with traffic between them: 200 ms apart.
            await Task.Delay(500);
            status = await StatusClient.QueryAsync(cluster.Transport, cluster.Scheduler.Endpoint, TimeSpan.FromSeconds(10));
        }
        while (status.Nodes.Where(n => n.Role == NodeRole.Server).Any(n => n.RequestsPerSecond == 0) && clock.Elapsed < TimeSpan.FromSeconds(20));
        stop.Cancel();
        await Bounded.Wait(load, "the load loop", TimeSpan.FromSeconds(10));
        NodeStatus[] servers = [.. status.Nodes.Where(n => n.Role == NodeRole.Server)];
        TestContext.Out.WriteLine(string.Join('\n', servers.Select(s => $"server {s.Rank}: {s.RequestsPerSecond:0} req/s, {s.BytesPerSecond / 1e6:0.0} MB/s")));
        Assert.That(servers, Has.Length.EqualTo(2));
        foreach (NodeStatus s in servers)
        {
            Assert.That(s.RequestsPerSecond, Is.GreaterThan(0), $"server {s.Rank} requests/s");
            // Every request moves at least its 64-byte header.
            Assert.That(s.BytesPerSecond, Is.GreaterThan(64 * s.RequestsPerSecond), $"server {s.Rank} bytes/s");
        }
    }

    [Test, CancelAfter(90_000)]
    public async Task AScrapeOfARunningJobHasEveryFigureTheIssueLists()
    {
        using MetricsEndpoint endpoint = MetricsEndpoint.Start(new MetricsOptions(0));
        string before = Scrape(endpoint);
        await using TestCluster cluster = await TestCluster.StartAsync("tcp", servers: 2, workers: 2, replicas: 2);
        TableHandle table = await cluster.DeclareEverywhereAsync(TableSpec.Dense("scraped", new KeyRange(0, Rows), 1, UpdaterKind.Sum));
        const int Iterations = 20;
        await Bounded.Wait(Task.WhenAll(cluster.Workers.Select(w => Task.Run(async () =>
        {
            float[] values = new float[Rows];
            for (int i = 0; i < Iterations; i++)
            {
                await w.PushRangeAsync(table, new KeyRange(0, Rows), values);
                await w.PullRangeAsync(table, new KeyRange(0, Rows), values, new Delay(1));
                await w.AdvanceClockAsync();
            }
            await w.BarrierAsync(77);
        }))), "the workers' iterations", TimeSpan.FromSeconds(60));
        string after = Scrape(endpoint);
        TestContext.Out.WriteLine(string.Join('\n', after.Split('\n').Where(l => l.StartsWith("psf_", StringComparison.Ordinal) && !l.Contains("_bucket"))));

        const string server = "node=\"server-0\"", worker = "node=\"worker-0\"";
        double Grew(string metric, params string[] labels) => Value(Line(after, metric, labels)) - Value(Line(before, metric, labels));
        Assert.Multiple(() =>
        {
            // Requests and bytes, on both sides.
            Assert.That(Grew("psf_requests_total", server, "kind=\"push\""), Is.GreaterThanOrEqualTo(Iterations), "server pushes");
            Assert.That(Grew("psf_requests_total", server, "kind=\"pull\""), Is.GreaterThanOrEqualTo(Iterations), "server pulls");
            Assert.That(Grew("psf_requests_total", server, "kind=\"replicate\""), Is.GreaterThan(0), "chain forwards");
            Assert.That(Grew("psf_requests_total", worker, "kind=\"push\""), Is.EqualTo(Iterations), "worker pushes");
            Assert.That(Grew("psf_requests_total", worker, "kind=\"pull\""), Is.EqualTo(Iterations), "worker pulls");
            foreach (string node in new[] { server, worker })
            {
                Assert.That(Grew("psf_bytes_total", node, "direction=\"sent\""), Is.GreaterThan(Iterations * 64), $"{node} bytes sent");
                Assert.That(Grew("psf_bytes_total", node, "direction=\"received\""), Is.GreaterThan(Iterations * 64), $"{node} bytes received");
            }
            // Queue depths: the server's inbox and held pulls, the worker's requests in flight.
            foreach (string queue in new[] { "inbox", "held_pulls" })
                Assert.That(Line(after, "psf_queue_depth", server, $"queue=\"{queue}\""), Is.Not.Empty, $"server queue {queue}");
            Assert.That(Line(after, "psf_queue_depth", worker, "queue=\"in_flight\""), Is.Not.Empty, "worker requests in flight");
            // Clocks and their lag: the worker's own iteration, the server's slowest live worker.
            Assert.That(Value(Line(after, "psf_clock", worker)), Is.EqualTo(Iterations), "worker clock");
            Assert.That(Value(Line(after, "psf_clock", server)), Is.InRange(Iterations - 1, Iterations), "server clock (the slowest worker)");
            Assert.That(Value(Line(after, "psf_clock_lag", worker)), Is.InRange(0, 2), "worker clock lag under τ = 1");
            Assert.That(Line(after, "psf_clock_lag", server), Is.Not.Empty, "server clock lag");
            Assert.That(Value(Line(after, "psf_replication_lag", server)), Is.Zero, "nothing left unreplicated once every push is acknowledged");
            // Wait time by cause.
            Assert.That(Grew("psf_wait_duration_seconds_count", worker, "cause=\"network\""), Is.EqualTo(2 * Iterations), "worker waits on servers");
            Assert.That(Grew("psf_wait_duration_seconds_count", worker, "cause=\"barrier\""), Is.EqualTo(1), "worker waits at the barrier");
            double replicationWaits = Grew("psf_wait_duration_seconds_count", server, "cause=\"replication\"")
                + Grew("psf_wait_duration_seconds_count", "node=\"server-1\"", "cause=\"replication\"");
            Assert.That(replicationWaits, Is.GreaterThanOrEqualTo(2 * Iterations), "pushes waiting for the chain's tail");
            Assert.That(Grew("psf_replication_duration_seconds_count", server) + Grew("psf_replication_duration_seconds_count", "node=\"server-1\""),
                Is.GreaterThanOrEqualTo(2 * Iterations), "replication durations");
        });
    }

    private static string Scrape(MetricsEndpoint endpoint)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return http.GetStringAsync(endpoint.Url).GetAwaiter().GetResult();
    }

    // The sample line of a series with the given labels, or "" when absent.
    private static string Line(string scrape, string metric, params string[] labels) =>
        scrape.Split('\n').FirstOrDefault(l => l.StartsWith(metric + "{", StringComparison.Ordinal) && labels.All(l.Contains)) ?? "";

    // A missing series counts as 0 (a counter not yet met); a gauge's absence is checked with Line.
    private static double Value(string line) =>
        line.Length == 0 ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
}
