using System.Diagnostics;
using System.Diagnostics.Metrics;
using ParameterServer.Fast.Cluster.Protocol;

namespace ParameterServer.Fast.Cluster.Operations;

/// <summary>
/// The instruments of one node on the meter "ParameterServer.Fast", for the hot path: every call
/// is a counter add, a histogram record or a field write with pre-built labels, so nothing is
/// allocated per request, and with no listener (no metrics endpoint) a call is a few
/// instructions. Gauges (queue depths, clocks, lags) are written by the node whenever it knows a
/// new value and read only when scraped. Thread-safe: any thread of the node may call any method.
/// <para>
/// Exported (Prometheus names; every series has labels node="server-0" and role="server"):
/// psf_requests_total{kind}, psf_request_duration_seconds{kind}, psf_bytes_total{direction},
/// psf_wait_duration_seconds{cause}, psf_replication_duration_seconds, psf_queue_depth{queue},
/// psf_clock, psf_clock_lag, psf_replication_lag, psf_rebuild_duration_seconds.
/// </para>
/// </summary>
public sealed class NodeMetrics : IDisposable
{
    public const string MeterName = "ParameterServer.Fast";

    // Seconds, from 10 µs (a local pull) to 10 s (a worker stuck behind a dead server): the
    // default buckets of OpenTelemetry are milliseconds-sized and would put all of it in two.
    private static readonly double[] s_secondsBuckets =
        [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly Meter s_meter = new(MeterName, typeof(NodeMetrics).Assembly.GetName().Version?.ToString());
    private static readonly Counter<long> s_requests = s_meter.CreateCounter<long>("psf.requests", "{request}", "Requests handled, by kind");
    private static readonly Histogram<double> s_requestDuration = Seconds("psf.request.duration", "Time to handle a request, from its arrival to its answer");
    private static readonly Counter<long> s_bytes = s_meter.CreateCounter<long>("psf.bytes", "By", "Frame bytes sent and received");
    private static readonly Histogram<double> s_wait = Seconds("psf.wait.duration", "Time spent waiting, by cause");
    private static readonly Histogram<double> s_replication = Seconds("psf.replication.duration", "Time from forwarding an update down the replica chain to the tail's acknowledgement");
    private static readonly Histogram<double> s_rebuild = Seconds("psf.rebuild.duration", "Time from a server failure to the map naming the new replicas of its ranges");

    private static readonly KeyValuePair<string, object?>[] s_kinds = Labels<RequestKind>("kind");
    private static readonly KeyValuePair<string, object?>[] s_causes = Labels<WaitCause>("cause");
    private static readonly KeyValuePair<string, object?>[] s_directions = Labels<TrafficDirection>("direction");
    private static readonly KeyValuePair<string, object?>[] s_queues = Labels<QueueKind>("queue");

    private static readonly Lock s_liveLock = new();
    private static readonly List<NodeMetrics> s_live = [];

    private readonly KeyValuePair<string, object?> _node;
    private readonly KeyValuePair<string, object?> _role;
    private readonly long[] _queueDepths = new long[s_queues.Length];
    // Running totals beside the exported counters: a server reports them to the scheduler in its
    // heartbeats (ServerLoad), so `psf status` has rates without a Prometheus.
    private readonly long[] _handled = new long[s_kinds.Length];
    private long _bytesSent;
    private long _bytesReceived;
    private long _clock;
    private long _clockLag;
    private long _replicationLag;

    static NodeMetrics()
    {
        s_meter.CreateObservableGauge("psf.queue.depth", ObserveQueues, "{item}", "Items waiting in a node's queues");
        s_meter.CreateObservableGauge("psf.clock", () => Observe(m => Volatile.Read(ref m._clock)), "{clock}", "The node's clock: a worker's iteration, a server's slowest live worker");
        s_meter.CreateObservableGauge("psf.clock.lag", () => Observe(m => Volatile.Read(ref m._clockLag)), "{clock}", "Clocks between this node and the slowest live worker it knows of");
        s_meter.CreateObservableGauge("psf.replication.lag", () => Observe(m => Volatile.Read(ref m._replicationLag)), "{update}", "Updates a primary applied that the tail of its chain does not hold yet");
    }

    /// <param name="role">The node's role (label role).</param>
    /// <param name="rank">Its rank within the role (label node = "server-0"; the scheduler is just "scheduler").</param>
    public NodeMetrics(NodeRole role, int rank)
    {
        string roleName = role.ToString().ToLowerInvariant();
        Node = role == NodeRole.Scheduler ? roleName : $"{roleName}-{rank}";
        _node = new("node", Node);
        _role = new("role", roleName);
        lock (s_liveLock)
            s_live.Add(this);
    }

    /// <summary>The node label ("server-0", "worker-3", "scheduler").</summary>
    public string Node { get; }

    /// <summary>A request of <paramref name="kind"/> was handled in <paramref name="seconds"/>.</summary>
    public void RequestHandled(RequestKind kind, double seconds)
    {
        Interlocked.Increment(ref _handled[(int)kind]);
        s_requests.Add(1, _node, _role, s_kinds[(int)kind]);
        s_requestDuration.Record(seconds, _node, _role, s_kinds[(int)kind]);
    }

    /// <summary>As <see cref="RequestHandled(RequestKind, double)"/>, timed from a <see cref="Stopwatch.GetTimestamp"/> taken on arrival.</summary>
    public void RequestHandledSince(RequestKind kind, long startTimestamp) =>
        RequestHandled(kind, Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    /// <summary>A frame of <paramref name="bytes"/> went out or came in.</summary>
    public void Traffic(TrafficDirection direction, long bytes)
    {
        Interlocked.Add(ref direction == TrafficDirection.Sent ? ref _bytesSent : ref _bytesReceived, bytes);
        s_bytes.Add(bytes, _node, _role, s_directions[(int)direction]);
    }

    /// <summary>Requests of <paramref name="kind"/> handled so far.</summary>
    public long Handled(RequestKind kind) => Volatile.Read(ref _handled[(int)kind]);

    public long BytesSent => Volatile.Read(ref _bytesSent);

    public long BytesReceived => Volatile.Read(ref _bytesReceived);

    /// <summary>The node waited <paramref name="seconds"/> for <paramref name="cause"/>.</summary>
    public void Waited(WaitCause cause, double seconds) => s_wait.Record(seconds, _node, _role, s_causes[(int)cause]);

    /// <summary>An update forwarded down the chain was acknowledged by the tail after <paramref name="seconds"/>.</summary>
    public void Replicated(double seconds) => s_replication.Record(seconds, _node, _role);

    /// <summary>The chains a failure shortened were whole again <paramref name="seconds"/> after it (the scheduler).</summary>
    public void Rebuilt(double seconds) => s_rebuild.Record(seconds, _node, _role);

    public void SetQueueDepth(QueueKind queue, long depth) => Volatile.Write(ref _queueDepths[(int)queue], depth);

    public void SetClock(long clock) => Volatile.Write(ref _clock, clock);

    public void SetClockLag(long clocks) => Volatile.Write(ref _clockLag, clocks);

    public void SetReplicationLag(long updates) => Volatile.Write(ref _replicationLag, updates);

    /// <summary>Stops exporting this node's gauges (its counters stay in the totals, as Prometheus expects).</summary>
    public void Dispose()
    {
        lock (s_liveLock)
            s_live.Remove(this);
    }

    private static Histogram<double> Seconds(string name, string description) =>
        s_meter.CreateHistogram(name, "s", description, tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_secondsBuckets });

    // Label values in Prometheus style: HeldPulls → held_pulls.
    private static KeyValuePair<string, object?>[] Labels<TEnum>(string name) where TEnum : struct, Enum =>
        [.. Enum.GetValues<TEnum>().Select(v => new KeyValuePair<string, object?>(name, SnakeCase(v.ToString())))];

    private static string SnakeCase(string pascal) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    // Scrape-time callbacks: a snapshot of the live nodes, then one measurement per node (and queue).
    private static NodeMetrics[] Live()
    {
        lock (s_liveLock)
            return [.. s_live];
    }

    private static IEnumerable<Measurement<long>> Observe(Func<NodeMetrics, long> value) =>
        Live().Select(m => new Measurement<long>(value(m), m._node, m._role));

    private static IEnumerable<Measurement<long>> ObserveQueues()
    {
        foreach (NodeMetrics m in Live())
        {
            for (int q = 0; q < s_queues.Length; q++)
                yield return new Measurement<long>(Volatile.Read(ref m._queueDepths[q]), m._node, m._role, s_queues[q]);
        }
    }
}
