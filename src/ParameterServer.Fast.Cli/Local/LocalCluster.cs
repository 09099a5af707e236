using System.Diagnostics;
using System.Globalization;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.InProc;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Shm;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Cli.Local;

/// <summary>
/// `psf local`: a whole job on this machine: the scheduler, the servers and the workers, talking
/// over the chosen transport (in-process hand-off, shared memory, or TCP on loopback), with a generated secret.
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
            TransportKind.Shm => new ShmTransport(secret),
            _ => throw new ArgumentException($"transport {options.Transport} is not available for psf local yet: use inproc, shm or tcp"),
        };
        SparseLROptions lr = options.App;
        string mode = options.Transport == TransportKind.InProc ? "in one process" : "each its own process";
        output.WriteLine($"psf local: sparse-lr, {options.Servers} servers, {options.Workers} workers, {options.Transport.ToString().ToLowerInvariant()} ({mode}), " +
            $"max delay {(lr.MaxDelay == int.MaxValue ? "∞" : lr.MaxDelay.ToString(CultureInfo.InvariantCulture))}, " +
            $"{lr.Data.Examples:N0} examples × {lr.Epochs} epochs");
        var clock = Stopwatch.StartNew();
        var job = new JobOptions { Servers = options.Servers, Workers = options.Workers, Replicas = options.Replicas };
        await using var scheduler = new SchedulerNode(transport, Listen("scheduler"), job);
        var progress = new ProgressPrinter(output, options.Workers, lr.Epochs * (int)Math.Ceiling(lr.Data.Examples / (double)options.Workers / lr.BatchSize), options.Quiet, clock);
        var finals = new Dictionary<int, ProgressReport>();
        scheduler.Progress += r =>
        {
            progress.OnReport(r);
            if (r.Done)
                lock (finals)
                    finals[r.Worker] = r;
        };
        scheduler.Start();

        if (options.Transport == TransportKind.InProc)
            await RunInProcess(transport, scheduler, lr, cancellationToken).ConfigureAwait(false);
        else
            await RunAsProcesses(secret, scheduler, lr, cancellationToken).ConfigureAwait(false);
        double seconds = clock.Elapsed.TotalSeconds;
        Report(finals, seconds, lr);
        return 0;
    }

    // shm names carry this process's id, so two jobs on one machine never meet.
    private Endpoint Listen(string name) => options.Transport switch
    {
        TransportKind.InProc => Endpoint.Parse($"inproc://{name}"),
        TransportKind.Shm => Endpoint.Parse($"shm://psf-job-{Environment.ProcessId}-{name}"),
        _ => Endpoint.Parse("tcp://127.0.0.1:0"),
    };

    private async Task RunInProcess(ITransport transport, SchedulerNode scheduler, SparseLROptions lr, CancellationToken cancellationToken)
    {
        var servers = new List<ServerNode>();
        for (int s = 0; s < options.Servers; s++)
            servers.Add(new ServerNode(transport, Listen($"server-{s}"), scheduler.Endpoint));
        await Task.WhenAll(servers.Select(s => s.StartAsync(cancellationToken))).ConfigureAwait(false);
        var workers = new List<WorkerClient>();
        for (int w = 0; w < options.Workers; w++)
            workers.Add(await WorkerClient.ConnectAsync(transport, scheduler.Endpoint, cancellationToken: cancellationToken).ConfigureAwait(false));
        await Task.WhenAll(workers.Select(w => Task.Run(() => SparseLogisticRegression.RunAndReportAsync(w, lr, cancellationToken), cancellationToken))).ConfigureAwait(false);
        await scheduler.Finished.WaitAsync(options.Timeout, cancellationToken).ConfigureAwait(false);
        foreach (WorkerClient w in workers)
            await w.DisposeAsync().ConfigureAwait(false);
        foreach (ServerNode s in servers)
            await s.DisposeAsync().ConfigureAwait(false);
    }

    private async Task RunAsProcesses(ClusterSecret secret, SchedulerNode scheduler, SparseLROptions lr, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string> { ["PSF_SECRET"] = secret.ToHex() };
        using var children = new ChildProcesses(output, environment);
        string schedulerAddress = scheduler.Endpoint.ToString();
        for (int s = 0; s < options.Servers; s++)
            children.Start($"server {s}", ["server", "--scheduler", schedulerAddress, "--listen", Listen($"server-{s}").ToString()]);
        for (int w = 0; w < options.Workers; w++)
            children.Start($"worker {w}", ["worker", "--scheduler", schedulerAddress, .. Commands.AppArguments.ToArguments(lr)]);
        Task finished = scheduler.Finished.WaitAsync(options.Timeout, cancellationToken);
        Task first = await Task.WhenAny(finished, children.Failure).ConfigureAwait(false);
        if (first == children.Failure)
            throw new InvalidOperationException($"the job failed: {await children.Failure.ConfigureAwait(false)}");
        await finished.ConfigureAwait(false);
        await children.WaitForExitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    private void Report(Dictionary<int, ProgressReport> finals, double seconds, SparseLROptions lr)
    {
        if (!finals.TryGetValue(0, out ProgressReport? model))
            throw new InvalidOperationException("worker 0 finished without its final report");
        double Metric(ProgressReport r, string name) => r.Metrics.TryGetValue(name, out double v) ? v : double.NaN;
        double iterations = finals.Values.Sum(r => Metric(r, "iterations"));
        double bytes = finals.Values.Sum(r => Metric(r, "bytes_sent"));
        var summary = new List<BenchResult>
        {
            new("objective", Metric(model, "objective"), "log loss + λ₁‖w‖₁/N"),
            new("test_logloss", Metric(model, "test_logloss"), "nats"),
            new("auc", Metric(model, "auc"), ""),
            new("accuracy", Metric(model, "accuracy"), ""),
            new("nonzeros", Metric(model, "nonzeros"), "weights"),
            new("seconds", seconds, "s"),
            new("examples_per_s", finals.Values.Sum(r => Metric(r, "examples")) / seconds, "examples/s"),
            new("worker_bytes_per_iteration", iterations == 0 ? 0 : bytes / iterations, "bytes"),
        };
        foreach (ProgressReport r in finals.Values.OrderBy(r => r.Worker))
        {
            summary.Add(new BenchResult($"worker_{r.Worker}_compute_seconds", Metric(r, "compute_seconds"), "s") { Extra = { ["worker"] = r.Worker } });
            summary.Add(new BenchResult($"worker_{r.Worker}_wait_seconds", Metric(r, "wait_seconds"), "s") { Extra = { ["worker"] = r.Worker } });
        }
        output.WriteLine();
        output.WriteLine($"done in {seconds:0.0} s");
        foreach (BenchResult r in summary)
            output.WriteLine("  " + JsonReport.Format(r));
        if (options.Json is null)
            return;
        var config = new Dictionary<string, object>
        {
            ["app"] = "sparse-lr", ["servers"] = options.Servers, ["workers"] = options.Workers,
            ["transport"] = options.Transport.ToString().ToLowerInvariant(), ["max_delay"] = lr.MaxDelay == int.MaxValue ? -1 : lr.MaxDelay,
            ["replicas"] = options.Replicas, ["epochs"] = lr.Epochs, ["examples"] = lr.Data.Examples, ["batch_size"] = lr.BatchSize,
        };
        JsonReport.Write(options.Json, "local", config, summary);
        output.WriteLine($"wrote {options.Json}");
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
