using System.Diagnostics;
using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Transport.Connections;
using Consistency = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>
/// `psf bench kv --transport shm|tcp --servers S --workers W` (after ps-lite's benchmark): an
/// in-process cluster with a Sum updater. Dense push, pull and push+pull of 1 K .. 16 M floats
/// per request (GB/s of floats, all workers together), one at a time and with 8 in flight
/// (_inflight8); sparse push and pull of 10 K .. 1 M random sorted keys (M keys/s); and 4-key
/// push/pull latency p50/p99 (µs). --quick skips 16 M and shortens every run.
/// </summary>
public sealed class KvBench : IBenchSuite
{
    public string Name => "kv";

    public string Description => "key-value push/pull over shm or tcp: dense GB/s, sparse M keys/s, 4-key latency";

    // `psf bench all` measures both transports: kv.json over TCP, kv-shm.json over shared memory.
    public IReadOnlyList<(string Report, string[] Options)> AllRuns => [("kv", []), ("kv-shm", ["--transport", "shm"])];

    private static readonly Dictionary<string, TransportKind> s_kinds = new() { ["shm"] = TransportKind.Shm, ["tcp"] = TransportKind.Tcp };

    public (IReadOnlyList<BenchResult> Results, Dictionary<string, object> Config) Run(Arguments args, bool quick, TextWriter log)
    {
        TransportKind kind = args.Choice("transport", TransportKind.Tcp, s_kinds);
        int servers = args.Int("servers", 1, 1, 64);
        int shards = args.Int("shards", 1, 1, 16);
        int workers = args.Int("workers", 1, 1, 64);
        double budget = args.Int("run-ms", quick ? 150 : 1000, 10, 60_000) / 1000.0;
        int latencyOps = args.Int("latency-ops", quick ? 2000 : 20000, 10, 10_000_000);
        args.EnsureAllUsed();
        (string Label, int Floats)[] dense = quick
            ? [("1K", 1 << 10), ("64K", 1 << 16), ("1M", 1 << 20)]
            : [("1K", 1 << 10), ("64K", 1 << 16), ("1M", 1 << 20), ("16M", 1 << 24)];
        (string Label, int Keys)[] sparse = [("10K", 10_000), ("100K", 100_000), ("1M", 1_000_000)];
        var results = new List<BenchResult>();
        void Add(BenchResult r)
        {
            results.Add(r);
            log.WriteLine(JsonReport.Format(r));
        }

        KvCluster cluster = KvCluster.StartAsync(kind, servers, workers, shards: shards).GetAwaiter().GetResult();
        try
        {
            int largest = dense[^1].Floats;
            TableHandle[] denseTables = Declare(cluster, TableSpec.Dense("kv-dense", new KeyRange(0, (ulong)largest)));
            var buffers = cluster.Workers.Select(_ => (Push: new float[largest], Pull: new float[largest])).ToArray();
            WarmUp(cluster, denseTables, buffers);
            foreach ((string label, int floats) in dense)
            {
                var range = new KeyRange(0, (ulong)floats);
                foreach (int inflight in new[] { 1, 8 })
                {
                    string suffix = inflight == 1 ? "" : "_inflight8";
                    double push = Rate(cluster, budget, inflight, (w, i) =>
                        w.PushRangeAsync(denseTables[i], range, buffers[i].Push.AsMemory(0, floats)));
                    double pull = Rate(cluster, budget, inflight, (w, i) =>
                        w.PullRangeAsync(denseTables[i], range, buffers[i].Pull.AsMemory(0, floats), Consistency.Eventual));
                    double both = Rate(cluster, budget, inflight, async (w, i) =>
                    {
                        await w.PushRangeAsync(denseTables[i], range, buffers[i].Push.AsMemory(0, floats)).ConfigureAwait(false);
                        await w.PullRangeAsync(denseTables[i], range, buffers[i].Pull.AsMemory(0, floats), Consistency.Eventual).ConfigureAwait(false);
                    });
                    double bytes = floats * 4.0;
                    Add(new BenchResult($"dense_push_{label}{suffix}", push * bytes / 1e9, "GB/s") { Extra = { ["floats"] = floats, ["requests_per_s"] = push } });
                    Add(new BenchResult($"dense_pull_{label}{suffix}", pull * bytes / 1e9, "GB/s") { Extra = { ["floats"] = floats, ["requests_per_s"] = pull } });
                    Add(new BenchResult($"dense_pushpull_{label}{suffix}", both * 2 * bytes / 1e9, "GB/s") { Extra = { ["floats"] = floats, ["pairs_per_s"] = both } });
                }
            }

            // Same-run ratios (perf/baselines/kv.json checks these, not absolute rates): does a
            // larger request keep its rate? 1M over 64K always, 16M over 1M when 16M ran.
            double Value(string name) => results.First(r => r.Name == name).Value;
            Add(new BenchResult("dense_pull_1M_inflight8_vs_64K", Value("dense_pull_1M_inflight8") / Value("dense_pull_64K_inflight8"), "ratio"));
            Add(new BenchResult("dense_push_1M_inflight8_vs_64K", Value("dense_push_1M_inflight8") / Value("dense_push_64K_inflight8"), "ratio"));
            if (!quick)
            {
                // A size's throughput is the better of one at a time and 8 in flight, as for the
                // C-stream ratio below; the 8-in-flight-only ratios stay beside them.
                double Best(string name) => Math.Max(Value(name), Value(name + "_inflight8"));
                Add(new BenchResult("dense_push_16M_vs_1M", Best("dense_push_16M") / Best("dense_push_1M"), "ratio"));
                Add(new BenchResult("dense_pull_16M_vs_1M", Best("dense_pull_16M") / Best("dense_pull_1M"), "ratio"));
                Add(new BenchResult("dense_push_16M_inflight8_vs_1M", Value("dense_push_16M_inflight8") / Value("dense_push_1M_inflight8"), "ratio"));
                Add(new BenchResult("dense_pull_16M_inflight8_vs_1M", Value("dense_pull_16M_inflight8") / Value("dense_pull_1M_inflight8"), "ratio"));
                Add(PiecesAgainstWhole(cluster, denseTables, buffers, dense[^1]));
            }

            TableHandle[] sparseTables = Declare(cluster, TableSpec.Sparse("kv-sparse") with { MaxRows = 4L << 20 });
            var rng = new Random(5);
            // Sparse requests take paths of their own (key lists, signatures, the slot cache): warm them too.
            ulong[] warmKeys = RandomSortedKeys(new Random(6), 10_000);
            float[] warmValues = new float[warmKeys.Length];
            Rate(cluster, 0.3, 1, (w, i) => w.PushAsync(sparseTables[i], warmKeys, warmValues));
            Rate(cluster, 0.3, 1, (w, i) => w.PullAsync(sparseTables[i], warmKeys, warmValues, Consistency.Eventual));
            foreach ((string label, int count) in sparse)
            {
                ulong[] keys = RandomSortedKeys(rng, count);
                float[] values = new float[keys.Length], pulled = new float[keys.Length];
                Array.Fill(values, 0.5f);
                double push = Rate(cluster, budget, 1, (w, i) => w.PushAsync(sparseTables[i], keys, values));
                double pull = Rate(cluster, budget, 1, (w, i) => w.PullAsync(sparseTables[i], keys, pulled, Consistency.Eventual));
                Add(new BenchResult($"sparse_push_{label}", push * keys.Length / 1e6, "M keys/s") { Extra = { ["keys"] = keys.Length } });
                Add(new BenchResult($"sparse_pull_{label}", pull * keys.Length / 1e6, "M keys/s") { Extra = { ["keys"] = keys.Length } });
            }

            ulong[] four = [3, 1_000_003, 2_000_003, 3_000_003];
            float[] fourValues = [1, 2, 3, 4], fourPulled = new float[4];
            (double push50, double push99) = Latency(cluster.Workers[0], latencyOps, w => w.PushAsync(sparseTables[0], four, fourValues));
            (double pull50, double pull99) = Latency(cluster.Workers[0], latencyOps, w => w.PullAsync(sparseTables[0], four, fourPulled, Consistency.Eventual));
            Add(new BenchResult("latency_push_p50_us", push50, "µs"));
            Add(new BenchResult("latency_push_p99_us", push99, "µs"));
            Add(new BenchResult("latency_pull_p50_us", pull50, "µs"));
            Add(new BenchResult("latency_pull_p99_us", pull99, "µs"));
            // The same with continuations on the receive thread even where it is not lent (TCP;
            // WorkerClient.InlineContinuations, opt-in for callers whose continuations never block).
            WorkerClient first = cluster.Workers[0];
            first.InlineContinuations = true;
            try
            {
                (double inlinePush50, double inlinePush99) = Latency(first, latencyOps, w => w.PushAsync(sparseTables[0], four, fourValues));
                (double inlinePull50, double inlinePull99) = Latency(first, latencyOps, w => w.PullAsync(sparseTables[0], four, fourPulled, Consistency.Eventual));
                Add(new BenchResult("latency_push_p50_inline_us", inlinePush50, "µs") { Extra = { ["p99_us"] = inlinePush99 } });
                Add(new BenchResult("latency_pull_p50_inline_us", inlinePull50, "µs") { Extra = { ["p99_us"] = inlinePull99 } });
            }
            finally
            {
                first.InlineContinuations = false;
            }
        }
        finally
        {
            cluster.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(20));
        }
        // The same server process as 2 shards, for the large dense requests that shards speed up.
        if (shards == 1)
            ShardedDense(kind, servers, workers, budget, Add);
        AddSameRunRatios(kind, quick, results, Add);
        var config = new Dictionary<string, object>
        {
            ["transport"] = kind.ToString().ToLowerInvariant(),
            ["servers"] = servers,
            ["shards"] = shards,
            ["workers"] = workers,
            ["run_seconds"] = budget,
            ["latency_ops"] = latencyOps,
            ["updater"] = "sum",
        };
        return (results, config);
    }

    // Dense push and pull of 1 M floats with every server process as 2 shards (2 nodes of one
    // failure domain, applying their halves of the range in parallel), one at a time and 8 in
    // flight, and the push rate over the one-shard run's.
    private static void ShardedDense(TransportKind kind, int servers, int workers, double budget, Action<BenchResult> add)
    {
        const int Shards = 2, Floats = 1 << 20;
        KvCluster cluster = KvCluster.StartAsync(kind, servers, workers, shards: Shards).GetAwaiter().GetResult();
        try
        {
            TableHandle[] tables = Declare(cluster, TableSpec.Dense("kv-dense-sharded", new KeyRange(0, Floats)));
            var buffers = cluster.Workers.Select(_ => (Push: new float[Floats], Pull: new float[Floats])).ToArray();
            var range = new KeyRange(0, Floats);
            foreach (int inflight in new[] { 1, 8 })
            {
                string suffix = inflight == 1 ? "" : "_inflight8";
                double push = Rate(cluster, budget, inflight, (w, i) => w.PushRangeAsync(tables[i], range, buffers[i].Push));
                double pull = Rate(cluster, budget, inflight, (w, i) => w.PullRangeAsync(tables[i], range, buffers[i].Pull, Consistency.Eventual));
                add(new BenchResult($"dense_push_1M_2shards{suffix}", push * Floats * 4.0 / 1e9, "GB/s") { Extra = { ["floats"] = Floats, ["shards"] = Shards } });
                add(new BenchResult($"dense_pull_1M_2shards{suffix}", pull * Floats * 4.0 / 1e9, "GB/s") { Extra = { ["floats"] = Floats, ["shards"] = Shards } });
            }
        }
        finally
        {
            cluster.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(20));
        }
    }

    // The targets as ratios over what the plain C loopback baselines do in this same run, so a
    // busy machine slows both sides alike: over TCP, dense push of 1 M floats ≥ 0.8× the C stream
    // and 4-key latency ≤ 35 µs where the C ping-pong takes 19 µs (1.84×); over shm, latency
    // ≤ 5 µs against the C spinning ping-pong, and 8 GB/s dense against 16 GB/s of memcpy.
    private static void AddSameRunRatios(TransportKind kind, bool quick, List<BenchResult> results, Action<BenchResult> add)
    {
        double Value(string name) => results.First(r => r.Name == name).Value;
        double densePush = Math.Max(Value("dense_push_1M"), Value("dense_push_1M_inflight8"));
        double? shardedPush = results.Any(r => r.Name == "dense_push_1M_2shards") ? Math.Max(Value("dense_push_1M_2shards"), Value("dense_push_1M_2shards_inflight8")) : null;
        if (shardedPush is { } sharded)
            add(new BenchResult("dense_push_1M_2shards_vs_1shard", sharded / densePush, "ratio"));
        if (kind == TransportKind.Tcp)
        {
            double stream = Measure.Median([.. Enumerable.Range(0, 3).Select(_ => NativeBaselines.TcpStreamGbps(1 << 20, quick ? 256L << 20 : 1L << 30))]);
            (double pingPong, _) = NativeBaselines.TcpPingPong(quick ? 2000 : 20000);
            add(new BenchResult("tcp_stream_c", stream, "GB/s"));
            add(new BenchResult("tcp_pingpong_c_us", pingPong, "µs"));
            add(new BenchResult("dense_push_1M_vs_tcp_stream_c", densePush / stream, "ratio"));
            if (shardedPush is { } sharded2)
                add(new BenchResult("dense_push_1M_2shards_vs_tcp_stream_c", sharded2 / stream, "ratio"));
            add(new BenchResult("latency_push_p50_vs_tcp_pingpong_c", Value("latency_push_p50_us") / pingPong, "ratio (lower is better)"));
        }
        else
        {
            double memcpy = NativeBaselines.MemcpyGbps(1 << 20, quick ? 2000 : 10000);
            (double pingPong, _) = NativeBaselines.ShmPingPong(quick ? 2000 : 20000, spinOnly: true);
            add(new BenchResult("memcpy_c", memcpy, "GB/s"));
            add(new BenchResult("shm_pingpong_c_us", pingPong, "µs"));
            add(new BenchResult("dense_push_1M_vs_memcpy_c", densePush / memcpy, "ratio"));
            if (shardedPush is { } sharded2)
                add(new BenchResult("dense_push_1M_2shards_vs_memcpy_c", sharded2 / memcpy, "ratio"));
            add(new BenchResult("latency_push_p50_vs_shm_pingpong_c", Value("latency_push_p50_us") / pingPong, "ratio (lower is better)"));
        }
    }

    // Same-run evidence for sending a large dense push in pieces (WorkerClient.DensePieceFloats):
    // rounds of 4 pushes one at a time by the first worker, interleaved between pieces and whole
    // frames (so a machine that gets busier slows both alike); the ratio of the median rates.
    private static BenchResult PiecesAgainstWhole(KvCluster cluster, TableHandle[] tables, (float[] Push, float[] Pull)[] buffers, (string Label, int Floats) size)
    {
        WorkerClient worker = cluster.Workers[0];
        var range = new KeyRange(0, (ulong)size.Floats);
        int piece = worker.DensePieceFloats;
        const int PushesPerRound = 4;
        Action Round(int pieceFloats) => () =>
        {
            worker.DensePieceFloats = pieceFloats;
            for (int i = 0; i < PushesPerRound; i++)
            {
                if (!worker.PushRangeAsync(tables[0], range, buffers[0].Push.AsMemory(0, size.Floats)).AsTask().Wait(TimeSpan.FromMinutes(1)))
                    throw new TimeoutException($"psf bench kv: a push of {size.Label} floats took over a minute");
            }
        };
        double[] seconds;
        try
        {
            seconds = Measure.Interleaved(5, Round(piece), Round(int.MaxValue));
        }
        finally
        {
            worker.DensePieceFloats = piece;
        }
        double bytes = PushesPerRound * size.Floats * 4.0;
        return new BenchResult($"dense_push_{size.Label}_pieces_vs_whole", seconds[1] / seconds[0], "ratio")
        {
            Extra = { ["pieces_gbps"] = bytes / seconds[0] / 1e9, ["whole_gbps"] = bytes / seconds[1] / 1e9, ["piece_floats"] = piece },
        };
    }

    private static TableHandle[] Declare(KvCluster cluster, TableSpec spec) =>
        [.. cluster.Workers.Select(w => w.DeclareTableAsync(spec).GetAwaiter().GetResult())];

    private static ulong[] RandomSortedKeys(Random rng, int count)
    {
        var keys = new ulong[count];
        for (int i = 0; i < count; i++)
            keys[i] = (ulong)rng.NextInt64(0, long.MaxValue);
        int unique = KeySet.SortUnique(keys);
        return keys[..unique];
    }

    // The runtime compiles a method first quickly, then optimised once it has been called often
    // and a background compile has run (tiered compilation, ~100 ms after): figures of 150 ms
    // taken before that measured half-optimised code (dense push of 64 K floats 1.8-2.8 GB/s in
    // quick runs, 4.2-4.4 GB/s with tiering off or in a full run). So every request kind is sent
    // for 2 s first (dense push and pull of 1 K and 64 K floats): 3.2-3.8 GB/s in quick runs after.
    // Tiering stays on: its profile-guided code is faster in steady state (count-min through psf
    // local 269 M inserts/s with it, 182 M without).
    private static void WarmUp(KvCluster cluster, TableHandle[] tables, (float[] Push, float[] Pull)[] buffers)
    {
        const double Seconds = 2.0;
        foreach (int floats in new[] { 1 << 10, 1 << 16 })
        {
            var range = new KeyRange(0, (ulong)Math.Min(floats, buffers[0].Push.Length));
            int n = (int)range.Size;
            Rate(cluster, Seconds / 4, 4, (w, i) => w.PushRangeAsync(tables[i], range, buffers[i].Push.AsMemory(0, n)));
            Rate(cluster, Seconds / 4, 4, (w, i) => w.PullRangeAsync(tables[i], range, buffers[i].Pull.AsMemory(0, n), Consistency.Eventual));
        }
    }

    // Requests per second of all workers together: each worker keeps `inflight` requests going
    // until the time budget is spent (at least 3 each, one warm-up round first).
    private static double Rate(KvCluster cluster, double budget, int inflight, Func<WorkerClient, int, ValueTask> op)
    {
        async Task<long> Drive(WorkerClient worker, int index)
        {
            await op(worker, index).ConfigureAwait(false);
            long done = 0;
            var clock = Stopwatch.StartNew();
            var pending = new Task[inflight];
            while (done < 3 * inflight || clock.Elapsed.TotalSeconds < budget)
            {
                for (int k = 0; k < inflight; k++)
                    pending[k] = op(worker, index).AsTask();
                await Task.WhenAll(pending).ConfigureAwait(false);
                done += inflight;
            }
            return done;
        }
        var total = Stopwatch.StartNew();
        long[] counts = Task.WhenAll(cluster.Workers.Select((w, i) => Task.Run(() => Drive(w, i)))).GetAwaiter().GetResult();
        return counts.Sum() / total.Elapsed.TotalSeconds;
    }

    // Requests one after another from an async loop, as an application issues them: each
    // continues where its answer arrived, so no thread is woken in between (a loop that blocked
    // on every request would measure a futex wake-up per request as well).
    private static (double P50Us, double P99Us) Latency(WorkerClient worker, int ops, Func<WorkerClient, ValueTask> op)
    {
        var samples = new double[ops];
        Task.Run(async () =>
        {
            // Warm-up: 500 requests and at least 1 s (at most a million), so that neither tiered compilation (its
            // background thread is a third busy thread on 2 cores: over shared memory 5.3-5.7 µs
            // p50 in half the quick runs after 0.2 s of warm-up, 1.7-2.0 µs in five of five after
            // 1 s) nor a pause in lending the receive thread left by the large requests before (a
            // continuation that encodes a million keys keeps it for milliseconds, see
            // ReceiverBaton) is measured.
            long warmUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
            for (int i = 0; i < 500 || (Stopwatch.GetTimestamp() < warmUntil && i < 1_000_000); i++)
                await op(worker).ConfigureAwait(false);
            for (int i = 0; i < ops; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await op(worker).ConfigureAwait(false);
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }).GetAwaiter().GetResult();
        Array.Sort(samples);
        return (Measure.Percentile(samples, 50), Measure.Percentile(samples, 99));
    }
}
