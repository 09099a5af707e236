using System.Collections.Concurrent;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Tables;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// The bounded-delay workload: each worker owns one counter key. Per iteration a worker pulls every
/// counter with its clock c, pushes +1 to its own, waits for the ack, then advances its clock. So
/// when the server answers a pull at clock c, a worker whose clock is ≥ c − τ has a counter ≥ c − τ:
/// a smaller counter seen is a consistency violation.
/// </summary>
internal sealed class ClockedWorkers(TestCluster cluster, TableHandle counters, Delay consistency)
{
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly ConcurrentQueue<string> _log = new();
    private readonly int[] _completed = new int[cluster.Workers.Count];
    private readonly int[] _maxStaleness = new int[cluster.Workers.Count];

    public static TableSpec Table => TableSpec.Sparse("counters");

    public IReadOnlyCollection<string> Violations => _violations;

    public IReadOnlyCollection<string> Log => _log;

    /// <summary>Iterations worker w has finished (its clock).</summary>
    public int Completed(int worker) => Volatile.Read(ref _completed[worker]);

    /// <summary>The most any other worker's counter lagged behind worker w's clock at one of its pulls.</summary>
    public int MaxStaleness(int worker) => Volatile.Read(ref _maxStaleness[worker]);

    // Spread over 2^64 so the counters land on different servers.
    public static ulong CounterKey(int worker) => ((ulong)worker * 0x3333_3333_3333_3333UL) + 17;

    public Task Run(int worker, int iterations, TimeSpan pause) => Task.Run(async () =>
    {
        WorkerClient client = cluster.Workers[worker];
        int n = cluster.Workers.Count;
        ulong[] keys = [.. Enumerable.Range(0, n).Select(CounterKey)];
        float[] counts = new float[n];
        ulong[] own = [CounterKey(worker)];
        for (int i = 0; i < iterations; i++)
        {
            long c = client.Clock;
            await client.PullAsync(counters, keys, counts, consistency);
            _log.Enqueue($"w{worker} c={c} saw [{string.Join(",", counts)}]");
            if (counts[worker] != c)
                _violations.Enqueue($"worker {worker} at clock {c} saw its own counter at {counts[worker]}");
            for (int v = 0; v < n; v++)
            {
                if (v == worker)
                    continue;
                int lag = (int)(c - counts[v]);
                _maxStaleness[worker] = Math.Max(_maxStaleness[worker], lag);
                if (!consistency.IsEventual && lag > consistency.MaxDelay)
                    _violations.Enqueue($"worker {worker} at clock {c} saw worker {v}'s counter at {counts[v]}: {lag} behind, τ = {consistency.MaxDelay}");
            }
            if (pause > TimeSpan.Zero)
                await Task.Delay(pause);
            await client.PushAsync(counters, own, new[] { 1f });
            await client.AdvanceClockAsync();
            Interlocked.Increment(ref _completed[worker]);
        }
    });
}
