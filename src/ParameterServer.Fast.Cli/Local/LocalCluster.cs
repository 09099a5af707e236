using System.Diagnostics;
using System.Globalization;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.InProc;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Cli.Local;

/// <summary>
/// `psf local`: a whole job on this machine: the scheduler, the servers and the workers, talking
/// over the chosen transport (in-process hand-off, or TCP on loopback), with a generated secret.
/// Prints progress as the workers report it and a summary at the end.
/// </summary>
public sealed class LocalCluster(LocalOptions options, TextWriter output)
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        ClusterSecret secret = ClusterSecret.Generate();
        ITransport transport = options.Transport switch
        {
            TransportKind.InProc => new InProcTransport(secret),
            TransportKind.Tcp => new TcpTransport(secret),
            _ => throw new ArgumentException($"transport {options.Transport} is not available for psf local yet: use inproc or tcp"),
        };
        Endpoint Listen(string name) => options.Transport == TransportKind.InProc ? Endpoint.Parse($"inproc://{name}") : Endpoint.Parse("tcp://127.0.0.1:0");

        var lr = new SparseLROptions
        {
            Data = new ClickLogGenerator { Examples = options.Examples, Seed = options.Seed },
            Epochs = options.Epochs,
            BatchSize = options.BatchSize,
            MaxDelay = options.MaxDelay,
        };
        output.WriteLine($"psf local: {options.App}, {options.Servers} servers, {options.Workers} workers, {options.Transport.ToString().ToLowerInvariant()}, " +
            $"max delay {(options.MaxDelay == int.MaxValue ? "∞" : options.MaxDelay.ToString(CultureInfo.InvariantCulture))}, " +
            $"{options.Examples:N0} examples × {options.Epochs} epochs");
        var clock = Stopwatch.StartNew();
        var job = new JobOptions { Servers = options.Servers, Workers = options.Workers, Replicas = options.Replicas };
        await using var scheduler = new SchedulerNode(transport, Listen("scheduler"), job);
        var progress = new ProgressPrinter(output, options.Workers, lr.Epochs * (int)Math.Ceiling(options.Examples / (double)options.Workers / lr.BatchSize), options.Quiet, clock);
        scheduler.Progress += progress.OnReport;
        scheduler.Start();

        var servers = new List<ServerNode>();
        for (int s = 0; s < options.Servers; s++)
        {
            var server = new ServerNode(transport, Listen($"server-{s}"), scheduler.Endpoint);
            servers.Add(server);
        }
        await Task.WhenAll(servers.Select(s => s.StartAsync(cancellationToken))).ConfigureAwait(false);

        var workers = new List<WorkerClient>();
        for (int w = 0; w < options.Workers; w++)
            workers.Add(await WorkerClient.ConnectAsync(transport, scheduler.Endpoint, cancellationToken: cancellationToken).ConfigureAwait(false));
        SparseLRResult[] results = await Task.WhenAll(workers.Select(w => Task.Run(async () =>
        {
            SparseLRResult r = await SparseLogisticRegression.RunWorkerAsync(w, lr, cancellationToken).ConfigureAwait(false);
            await w.ReportAsync(new ProgressReport(w.Rank, r.Iterations, r.TrainLogLoss, r.Examples, r.ComputeSeconds, r.WaitSeconds, true)).ConfigureAwait(false);
            return r;
        }, cancellationToken))).ConfigureAwait(false);
        await scheduler.Finished.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        double seconds = clock.Elapsed.TotalSeconds;

        foreach (WorkerClient w in workers)
            await w.DisposeAsync().ConfigureAwait(false);
        foreach (ServerNode s in servers)
            await s.DisposeAsync().ConfigureAwait(false);

        SparseLRResult model = results.Single(r => r.Worker == 0);
        long iterations = results.Sum(r => r.Iterations);
        double bytesPerIteration = iterations == 0 ? 0 : results.Sum(r => (double)r.BytesSent) / iterations;
        var summary = new List<BenchResult>
        {
            new("objective", model.Objective, "log loss + λ₁‖w‖₁/N"),
            new("test_logloss", model.TestLogLoss, "nats"),
            new("auc", model.Auc, ""),
            new("accuracy", model.Accuracy, ""),
            new("nonzeros", model.NonZeros, "weights"),
            new("seconds", seconds, "s"),
            new("examples_per_s", results.Sum(r => (double)r.Examples) / seconds, "examples/s"),
            new("worker_bytes_per_iteration", bytesPerIteration, "bytes"),
        };
        foreach (SparseLRResult r in results.OrderBy(r => r.Worker))
        {
            summary.Add(new BenchResult($"worker_{r.Worker}_compute_seconds", r.ComputeSeconds, "s") { Extra = { ["worker"] = r.Worker } });
            summary.Add(new BenchResult($"worker_{r.Worker}_wait_seconds", r.WaitSeconds, "s") { Extra = { ["worker"] = r.Worker } });
        }
        output.WriteLine();
        output.WriteLine($"done in {seconds:0.0} s");
        foreach (BenchResult r in summary)
            output.WriteLine("  " + JsonReport.Format(r));
        if (options.Json is not null)
        {
            var config = new Dictionary<string, object>
            {
                ["app"] = options.App, ["servers"] = options.Servers, ["workers"] = options.Workers,
                ["transport"] = options.Transport.ToString().ToLowerInvariant(), ["max_delay"] = options.MaxDelay == int.MaxValue ? -1 : options.MaxDelay,
                ["replicas"] = options.Replicas, ["epochs"] = options.Epochs, ["examples"] = options.Examples, ["batch_size"] = options.BatchSize,
            };
            JsonReport.Write(options.Json, "local", config, summary);
            output.WriteLine($"wrote {options.Json}");
        }
        return 0;
    }

    /// <summary>Prints a progress line per report, at most a few per second.</summary>
    private sealed class ProgressPrinter(TextWriter output, int workers, int iterationsPerWorker, bool quiet, Stopwatch clock)
    {
        private readonly long[] _iterations = new long[workers];
        private readonly double[] _loss = new double[workers];
        private long _examples;
        private double _lastPrint = -1;

        public void OnReport(ProgressReport r)
        {
            _iterations[r.Worker] = r.Iteration;
            if (!r.Done)
                _loss[r.Worker] = r.Objective;
            _examples = Math.Max(_examples, 0) + 0;
            double now = clock.Elapsed.TotalSeconds;
            if (quiet || (now - _lastPrint < 0.25 && !r.Done))
                return;
            _lastPrint = now;
            long done = _iterations.Sum();
            long total = (long)iterationsPerWorker * workers;
            double fraction = total == 0 ? 1 : Math.Min(1, done / (double)total);
            int filled = (int)(fraction * 30);
            double eta = fraction > 0 ? now * (1 - fraction) / fraction : double.NaN;
            double loss = _loss.Where(l => l > 0).DefaultIfEmpty(double.NaN).Average();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{new string('#', filled)}{new string('.', 30 - filled)}] {fraction,4:P0}  {now,6:0.0}s  iterations {done}/{total}  minibatch log loss {loss:0.0000}  ETA {eta:0}s"));
        }
    }
}
