using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cli.Commands;
using ParameterServer.Fast.Cli.Local;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>
/// `psf bench apps [--examples N] [--passes P] [--time-examples N] [--time-passes P]`: sparse logistic regression by
/// block proximal gradient on generated click-log data (2 servers, 2 workers), measuring in one
/// run the two targets of issue #7:
/// <list type="bullet">
///   <item>kkt_cache_bytes_reduction: worker bytes sent per iteration with the KKT filter and key
///   caching both off, over both on (target ≥ 12); same data and passes, with
///   kkt_cache_objective_difference, the relative difference of their final objectives (≤ 1%).
///   Bytes do not depend on the transport, so these jobs run in this process (in-process transport).</item>
///   <item>time_to_baseline_objective_ratio: seconds of training until a `psf local` job (servers and
///   workers as processes over loopback TCP) reaches the final objective of the single-process
///   baseline, over the seconds that baseline takes on one thread (target ≤ 1). On a larger data
///   set: the fixed cost of each block's round trips must be small next to its computing. With
///   τ = 0 each worker computes the next block's curvature (half of its work per block, and the
///   same numbers as the baseline's) while the servers answer the current round, and sums the
///   log loss it reports while they answer the first round of a pass; the steps stay the
///   baseline's, pass for pass.</item>
/// </list>
/// </summary>
public sealed class AppsBench : IBenchSuite
{
    public string Name => "apps";

    public string Description => "sparse LR by block proximal gradient: bytes with/without KKT filter + key caching; time against a one-thread baseline";

    public (IReadOnlyList<BenchResult> Results, Dictionary<string, object> Config) Run(Arguments args, bool quick, TextWriter log)
    {
        int examples = args.Int("examples", quick ? 60_000 : 200_000, 1_000, 10_000_000);
        int passes = args.Int("passes", quick ? 16 : 20, 2, 1_000);
        int timeExamples = args.Int("time-examples", quick ? 600_000 : 1_000_000, 1_000, 100_000_000);
        int timePasses = args.Int("time-passes", SparseLROptions.DefaultPasses, 2, 1_000);
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
        var o = new SparseLROptions { Data = data, Epochs = passes };
        JobRun on = JobRun.Run(Servers, Workers, o, keyCaching: true);
        JobRun off = JobRun.Run(Servers, Workers, o with { KktFilter = false }, keyCaching: false);
        Add(new BenchResult("worker_bytes_per_iteration", on.BytesPerIteration, "bytes, KKT filter and key caching on") { Extra = { ["iterations"] = on.Iterations, ["examples"] = examples } });
        Add(new BenchResult("worker_bytes_per_iteration_unfiltered", off.BytesPerIteration, "bytes, KKT filter and key caching off") { Extra = { ["iterations"] = off.Iterations } });
        Add(new BenchResult("kkt_cache_bytes_reduction", off.BytesPerIteration / on.BytesPerIteration, "× fewer bytes (target ≥ 12)"));
        Add(new BenchResult("objective", on.Objective, "with the filter and caching"));
        Add(new BenchResult("objective_unfiltered", off.Objective, "without"));
        Add(new BenchResult("kkt_cache_objective_difference", Math.Abs(on.Objective - off.Objective) / off.Objective, "relative (target ≤ 0.01)"));
        Add(new BenchResult("nonzeros", on.NonZeros, "weights"));

        LocalCluster.RunOutcome job = TimedJob(timeExamples, timePasses, Servers, Workers);
        foreach (string name in new[] { "baseline_seconds", "training_seconds", "seconds_to_baseline_objective", "baseline_objective", "time_to_baseline_objective_ratio" })
        {
            BenchResult r = job.Summary.First(r => r.Name == name);
            Add(new BenchResult(r.Name, r.Value, r.Unit) { Extra = { ["examples"] = timeExamples, ["transport"] = "tcp" } });
        }
        var config = new Dictionary<string, object>
        {
            ["examples"] = examples, ["passes"] = passes, ["time_examples"] = timeExamples, ["time_passes"] = timePasses, ["blocks"] = o.Blocks, ["l1"] = o.L1,
            ["max_delay"] = o.MaxDelay, ["servers"] = Servers, ["workers"] = Workers, ["reach_tolerance"] = ObjectiveTrace.ReachTolerance,
            ["worker_overlap"] = "tau 0: the next block's curvature and the pass's log loss are computed while the servers answer a round",
        };
        return (results, config);
    }

    // `psf local` over TCP with its defaults on the larger data set, then the single-process baseline.
    private static LocalCluster.RunOutcome TimedJob(int examples, int passes, int servers, int workers)
    {
        var options = new LocalOptions
        {
            App = new SparseLRChoice(new SparseLROptions { Data = new GeneratedData(new ClickLogGenerator { Examples = examples, Seed = 1 }), Epochs = passes }),
            Servers = servers, Workers = workers, Transport = TransportKind.Tcp, Quiet = true, Baseline = true, Timeout = TimeSpan.FromMinutes(10),
        };
        return new LocalCluster(options, TextWriter.Null).RunJobAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>One job in this process: what its workers sent and the trace they reported.</summary>
    private sealed record JobRun(double BytesPerIteration, long Iterations, double Objective, long NonZeros, IReadOnlyList<ObjectivePoint> Trace)
    {
        public static JobRun Run(int servers, int workers, SparseLROptions o, bool keyCaching)
        {
            KvCluster cluster = KvCluster.StartAsync(TransportKind.InProc, servers, workers, keyCaching).GetAwaiter().GetResult();
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
