using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>
/// `psf bench apps [--examples N] [--passes P] [--transport inproc|tcp|shm]`: sparse logistic
/// regression by block proximal gradient (2 servers, 2 workers in this process) on generated
/// click-log data, measuring in one run the two targets of issue #7:
/// <list type="bullet">
///   <item>kkt_cache_bytes_reduction: worker bytes sent per iteration with the KKT filter and key
///   caching both off, over both on (target ≥ 12); same data and passes, and
///   kkt_cache_objective_difference, the relative difference of their final objectives (≤ 1%);</item>
///   <item>time_to_baseline_objective_ratio: seconds of training until the job's objective reaches
///   the final objective of the single-process baseline (the same algorithm on one thread), over
///   the seconds the baseline took (target ≤ 1).</item>
/// </list>
/// </summary>
public sealed class AppsBench : IBenchSuite
{
    private static readonly Dictionary<string, TransportKind> s_kinds = new() { ["inproc"] = TransportKind.InProc, ["tcp"] = TransportKind.Tcp, ["shm"] = TransportKind.Shm };

    public string Name => "apps";

    public string Description => "sparse LR by block proximal gradient: bytes with/without KKT filter + key caching; time against a one-thread baseline";

    public (IReadOnlyList<BenchResult> Results, Dictionary<string, object> Config) Run(Arguments args, bool quick, TextWriter log)
    {
        int examples = args.Int("examples", quick ? 60_000 : 200_000, 1_000, 10_000_000);
        int passes = args.Int("passes", quick ? 12 : 20, 2, 1_000);
        TransportKind kind = args.Choice("transport", TransportKind.InProc, s_kinds);
        const int Servers = 2, Workers = 2;
        args.EnsureAllUsed();
        var results = new List<BenchResult>();
        void Add(BenchResult r)
        {
            results.Add(r);
            log.WriteLine(JsonReport.Format(r));
        }

        var generator = new ClickLogGenerator { Examples = examples, Seed = 1 };
        var data = new InMemoryData(generator.Generate(), generator.Generate(examples, 10_000), $"{examples:N0} generated click-log examples");
        SparseLROptions o = new SparseLROptions { Data = data, Epochs = passes };

        BaselineResult baseline = BlockProximalBaseline.Run(o, data.Train, data.Test);
        JobRun on = JobRun.Run(kind, Servers, Workers, o, keyCaching: true);
        JobRun off = JobRun.Run(kind, Servers, Workers, o with { KktFilter = false }, keyCaching: false);

        Add(new BenchResult("worker_bytes_per_iteration", on.BytesPerIteration, "bytes, KKT filter and key caching on") { Extra = { ["iterations"] = on.Iterations } });
        Add(new BenchResult("worker_bytes_per_iteration_unfiltered", off.BytesPerIteration, "bytes, KKT filter and key caching off") { Extra = { ["iterations"] = off.Iterations } });
        Add(new BenchResult("kkt_cache_bytes_reduction", off.BytesPerIteration / on.BytesPerIteration, "× fewer bytes (target ≥ 12)"));
        Add(new BenchResult("objective", on.Objective, "with the filter and caching"));
        Add(new BenchResult("objective_unfiltered", off.Objective, "without"));
        Add(new BenchResult("kkt_cache_objective_difference", Math.Abs(on.Objective - off.Objective) / off.Objective, "relative (target ≤ 0.01)"));
        Add(new BenchResult("nonzeros", on.NonZeros, "weights"));

        double reached = ObjectiveTrace.SecondsToReach(on.Trace, baseline.Objective);
        Add(new BenchResult("baseline_seconds", baseline.Seconds, "s of training, one thread") { Extra = { ["objective"] = baseline.Objective } });
        Add(new BenchResult("training_seconds", on.Trace[^1].Seconds, $"s of training, {Workers} workers and {Servers} servers"));
        Add(new BenchResult("seconds_to_baseline_objective", reached, "s until the job reached the baseline's final objective"));
        Add(new BenchResult("time_to_baseline_objective_ratio", reached / baseline.Seconds, "(target ≤ 1)"));
        var config = new Dictionary<string, object>
        {
            ["examples"] = examples, ["passes"] = passes, ["blocks"] = o.Blocks, ["l1"] = o.L1, ["max_delay"] = o.MaxDelay,
            ["transport"] = kind.ToString().ToLowerInvariant(), ["servers"] = Servers, ["workers"] = Workers,
            ["reach_tolerance"] = ObjectiveTrace.ReachTolerance,
        };
        return (results, config);
    }

    /// <summary>One job in this process: what its workers sent and the trace they reported.</summary>
    private sealed record JobRun(double BytesPerIteration, long Iterations, double Objective, long NonZeros, IReadOnlyList<ObjectivePoint> Trace)
    {
        public static JobRun Run(TransportKind kind, int servers, int workers, SparseLROptions o, bool keyCaching)
        {
            KvCluster cluster = KvCluster.StartAsync(kind, servers, workers, keyCaching).GetAwaiter().GetResult();
            try
            {
                SparseLRResult[] results = Task.WhenAll(cluster.Workers.Select(w => Task.Run(() => SparseLogisticRegression.RunWorkerAsync(w, o))))
                    .WaitAsync(TimeSpan.FromMinutes(10)).GetAwaiter().GetResult();
                long iterations = results.Sum(r => r.Iterations);
                SparseLRResult first = results.Single(r => r.Worker == 0);
                List<ObjectivePoint> trace = ObjectiveTrace.Combine(results.SelectMany(r => r.Trace.Select(p => (r.Worker, p))), workers);
                return new JobRun(results.Sum(r => (double)r.BytesSent) / iterations, iterations, first.Objective, first.NonZeros, trace);
            }
            finally
            {
                cluster.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(20));
            }
        }
    }
}
