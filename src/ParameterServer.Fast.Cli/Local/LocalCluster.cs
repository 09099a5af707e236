using System.Diagnostics;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Cli.Commands;
using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cli.Progress;
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
/// Shows progress as the workers report it (<see cref="JobProgress"/>: live bars on a terminal,
/// plain lines otherwise) and a summary at the end.
/// </summary>
public sealed class LocalCluster(LocalOptions options, TextWriter output)
{
    /// <summary>What one run measured: the summary results and the progress as it came.</summary>
    public sealed record RunOutcome(IReadOnlyList<BenchResult> Summary, IReadOnlyList<Reports.ProgressPoint> Progress, double Seconds);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        RunOutcome outcome = await RunJobAsync(cancellationToken).ConfigureAwait(false);
        string? failure = options.App.Verdict(outcome.Summary);
        if (failure is null)
            return 0;
        output.WriteLine($"psf local: {failure}");
        return 1;
    }

    public async Task<RunOutcome> RunJobAsync(CancellationToken cancellationToken)
    {
        JobProgress view = JobProgress.For(output, options.Quiet);
        var clock = new Stopwatch();
        (AppChoice app, Dictionary<int, ProgressReport> finals, List<Reports.ProgressPoint> points) =
            await view.RunAsync(() => RunUnderProgressAsync(view, clock, cancellationToken)).ConfigureAwait(false);
        double seconds = clock.Elapsed.TotalSeconds;
        IReadOnlyList<BenchResult> summary = Report(view, finals, seconds, app, points);
        return new RunOutcome(summary, points, seconds);
    }

    private async Task<(AppChoice, Dictionary<int, ProgressReport>, List<Reports.ProgressPoint>)> RunUnderProgressAsync(JobProgress view, Stopwatch clock, CancellationToken cancellationToken)
    {
        ClusterSecret secret = ClusterSecret.Generate();
        ITransport transport = options.Transport switch
        {
            TransportKind.InProc => new InProcTransport(secret),
            TransportKind.Tcp => new TcpTransport(secret, tls: options.Tls ? TlsOptions.SelfSigned() : null),
            TransportKind.Shm => new ShmTransport(secret),
            TransportKind.Rdma => TransportFactory.Create(TransportKind.Rdma, secret),
            _ => throw new ArgumentException($"transport {options.Transport} is not available for psf local: use inproc, shm, tcp or rdma"),
        };
        AppChoice app = options.App;
        if (app is SparseLRChoice lrChoice)
        {
            // The default data set is generated once into the cache folder; a user's file is read
            // once here, so a bad file is reported before any process starts.
            app = new SparseLRChoice(lrChoice.Options with { Data = DefaultDataCache.Materialise(lrChoice.Options.Data, view) });
            if (lrChoice.Options.Data is FileData file)
            {
                using IProgressStage reading = view.BeginStage($"reading {Path.GetFileName(file.Path)}", 0, "examples");
                (SparseDataset train, SparseDataset test) = file.Load();
                reading.Report(train.Count + test.Count);
            }
        }
        string mode = options.Transport == TransportKind.InProc ? "in one process" : "each its own process";
        string shards = options.Shards > 1 ? $" of {options.Shards} shards each" : "";
        view.Log.WriteLine($"psf local: {app.Name}, {options.Servers} servers{shards}, {options.Workers} workers, {options.Transport.ToString().ToLowerInvariant()} ({mode}), {options.App.Describe()}");
        clock.Start();
        var job = new JobOptions { Servers = options.Servers * options.Shards, Workers = options.Workers, Replicas = options.Replicas };
        Cluster.Checkpoints.CheckpointPolicy? checkpoints = CheckpointArguments.ToPolicy(options.Checkpoints, "local", view.Log);
        using Microsoft.Extensions.Logging.ILoggerFactory logs = Logging.Create();
        await using var scheduler = new SchedulerNode(transport, Listen("scheduler"), job, logs.CreateLogger("scheduler")) { Checkpoints = checkpoints };
        scheduler.CheckpointCommitted += (at, folder, bytes) =>
        {
            Interlocked.Increment(ref _checkpointsCommitted);
            view.Log.WriteLine($"checkpoint at clock {at} committed: {bytes:N0} bytes in {folder}");
        };
        scheduler.CheckpointGivenUp += (at, why) => view.Log.WriteLine($"checkpoint at clock {at} not taken: {why}");
        _resumedFrom = checkpoints?.Resume?.Found?.Clock;
        // Totals from the app as given: a generated data set knows its size before it is cached as a file.
        AppChoice given = options.App;
        view.BeginTraining(new TrainingTally(options.Workers, (long)given.IterationsPerWorker(options.Workers) * options.Workers, given.ExamplesTotal, given.ObjectiveName, given.ExamplesName), app.Name);
        var finals = new Dictionary<int, ProgressReport>();
        var points = new List<Reports.ProgressPoint>();
        scheduler.Progress += r =>
        {
            _trainingStarted.TrySetResult();
            double now = clock.Elapsed.TotalSeconds;
            view.OnReport(r, now);
            if (!r.Done)
                lock (points)
                    points.Add(new Reports.ProgressPoint(now, r.Worker, r.Iteration, r.Objective) { Metrics = r.Metrics });
            if (r.Done)
                lock (finals)
                    finals[r.Worker] = r;
        };
        scheduler.Start();

        if (options.Transport == TransportKind.InProc)
            await RunInProcess(transport, scheduler, app, cancellationToken).ConfigureAwait(false);
        else
            await RunAsProcesses(secret, scheduler, app, view.Log, cancellationToken).ConfigureAwait(false);
        clock.Stop();
        _lastRebuild = scheduler.LastRebuild;
        _lastRebalance = scheduler.LastRebalance;
        return (app, finals, points);
    }

    // shm names carry this process's id, so two jobs on one machine never meet.
    private Endpoint Listen(string name) => options.Transport switch
    {
        TransportKind.InProc => Endpoint.Parse($"inproc://{name}"),
        TransportKind.Shm => Endpoint.Parse($"shm://psf-job-{Environment.ProcessId}-{name}"),
        TransportKind.Rdma => Endpoint.Parse("rdma://127.0.0.1:0"),
        _ => Endpoint.Parse("tcp://127.0.0.1:0"),
    };

    private async Task RunInProcess(ITransport transport, SchedulerNode scheduler, AppChoice app, CancellationToken cancellationToken)
    {
        var servers = new List<ServerNode>();
        for (int s = 0; s < options.Servers; s++)
        {
            for (int k = 0; k < options.Shards; k++)
            {
                servers.Add(new ServerNode(transport, ServerShards.ListenAt(Listen($"server-{s}"), k), scheduler.Endpoint, replicationBatch: options.ReplicationBatch)
                {
                    FailureDomain = options.Shards > 1 ? $"server-{s}" : "",
                });
            }
        }
        await Task.WhenAll(servers.Select(s => s.StartAsync(cancellationToken))).ConfigureAwait(false);
        var workers = new List<WorkerClient>();
        for (int w = 0; w < options.Workers; w++)
            workers.Add(await WorkerClient.ConnectAsync(transport, scheduler.Endpoint, cancellationToken: cancellationToken).ConfigureAwait(false));
        await Task.WhenAll(workers.Select(w => Task.Run(() => app.RunAsync(w, cancellationToken), cancellationToken))).ConfigureAwait(false);
        await scheduler.Finished.WaitAsync(options.Timeout, cancellationToken).ConfigureAwait(false);
        foreach (WorkerClient w in workers)
            await w.DisposeAsync().ConfigureAwait(false);
        foreach (ServerNode s in servers)
            await s.DisposeAsync().ConfigureAwait(false);
    }

    private async Task RunAsProcesses(ClusterSecret secret, SchedulerNode scheduler, AppChoice app, TextWriter log, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string> { ["PSF_SECRET"] = secret.ToHex() };
        using var children = new ChildProcesses(log, environment);
        string schedulerAddress = scheduler.Endpoint.ToString();
        for (int s = 0; s < options.Servers; s++)
            children.Start($"server {s}", ["server", "--scheduler", schedulerAddress, "--listen", Listen($"server-{s}").ToString(), .. ServerArguments($"server {s}")]);
        for (int w = 0; w < options.Workers; w++)
            children.Start($"worker {w}", ["worker", "--scheduler", schedulerAddress, .. app.ToArguments(), .. TlsArguments()]);
        Task finished = scheduler.Finished.WaitAsync(options.Timeout, cancellationToken);
        using var killing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task kills = Task.WhenAll(InjectFaults(children, scheduler, log, killing.Token), ChangeMembership(children, scheduler, schedulerAddress, log, killing.Token));
        Task first = await Task.WhenAny(finished, children.Failure).ConfigureAwait(false);
        killing.Cancel();
        try
        {
            await kills.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The job ended before every scheduled kill.
        }
        if (first == children.Failure)
            throw new InvalidOperationException($"the job failed: {await children.Failure.ConfigureAwait(false)}");
        await finished.ConfigureAwait(false);
        await children.WaitForExitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    // --kill worker:N@S: SIGKILL that worker's process at S seconds, then start a replacement,
    // which the scheduler hands the dead worker's shard to rerun. --kill server:N@S: SIGKILL that
    // server; the next server of each of its chains takes over (needs --replicas 2 or more).
    private async Task InjectFaults(ChildProcesses children, SchedulerNode scheduler, TextWriter log, CancellationToken cancellationToken)
    {
        // Seconds count from the first progress report: a kill lands in training, however long
        // the processes took to start on a busy machine.
        await _trainingStarted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var started = Stopwatch.StartNew();
        long lastServerKill = 0;
        foreach (KillSpec kill in options.Kills.OrderBy(k => k.Seconds))
        {
            TimeSpan wait = TimeSpan.FromSeconds(kill.Seconds) - started.Elapsed;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            string name = kill.ProcessName;
            if (kill.Server)
            {
                if (lastServerKill > 0)
                    await RebuildSettledAsync(scheduler, lastServerKill, started, log, cancellationToken).ConfigureAwait(false);
                _serverKilledAtUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                lastServerKill = Stopwatch.GetTimestamp();
                children.Kill(name);
                log.WriteLine($"[{started.Elapsed.TotalSeconds,6:0.0}s] killed {name} with SIGKILL; its ranges fail over to their backups");
                continue;
            }
            children.Kill(name);
            log.WriteLine($"[{started.Elapsed.TotalSeconds,6:0.0}s] killed {name} (the process, whatever rank it had) with SIGKILL; starting a replacement");
            // The replacement must find the rank free: wait until the scheduler has noticed the death.
            await Task.Delay(TimeSpan.FromMilliseconds(300), cancellationToken).ConfigureAwait(false);
            children.Restart(name);
        }
    }

    // A later server kill is meant to hit the chains as rebuilt after the earlier one: it waits
    // until the scheduler published the rebuilt chains (checked every 50 ms, for at most 30 s;
    // past that, or when no live server is left to copy to, it goes ahead and says so).
    private static async Task RebuildSettledAsync(SchedulerNode scheduler, long previousKill, Stopwatch started, TextWriter log, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (scheduler.LastRebuild.Finished > previousKill && scheduler.RebuildsPending == 0)
                return;
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
        log.WriteLine($"[{started.Elapsed.TotalSeconds,6:0.0}s] the chains shortened by the last kill were not rebuilt within 30 s; killing anyway");
    }

    private string[] TlsArguments() => options.Tls ? ["--tls"] : [];

    // With shards, a server process's failure domain is named by its place in the job, the same
    // when a job is resumed (ranges then lie where they did), as in-process servers name theirs.
    private string[] ServerArguments(string name) =>
    [
        .. TlsArguments(), "--replication-batch", options.ReplicationBatch.ToString(System.Globalization.CultureInfo.InvariantCulture),
        .. options.Shards > 1
            ? ["--shards", options.Shards.ToString(System.Globalization.CultureInfo.InvariantCulture), "--failure-domain", name.Replace(' ', '-')]
            : Array.Empty<string>(),
    ];

    private long _serverKilledAtUnixMs;
    private Cluster.Replication.RebuildTiming _lastRebuild;
    private Cluster.Replication.RebuildTiming _lastRebalance;

    // --add server@S starts one more server process (it registers with the running job and ranges
    // move to it); --drain server:RANK@S has the scheduler move every range off that server, which
    // then exits. Seconds count from the first progress report, as for --kill.
    private async Task ChangeMembership(ChildProcesses children, SchedulerNode scheduler, string schedulerAddress, TextWriter log, CancellationToken cancellationToken)
    {
        if (options.Membership.Count == 0)
            return;
        await _trainingStarted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var started = Stopwatch.StartNew();
        int added = 0;
        foreach (MembershipSpec change in options.Membership.OrderBy(m => m.Seconds))
        {
            TimeSpan wait = TimeSpan.FromSeconds(change.Seconds) - started.Elapsed;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            if (change.Add)
            {
                string name = $"server {options.Servers + added++}";
                children.Start(name, ["server", "--scheduler", schedulerAddress, "--listen", Listen(name.Replace(' ', '-')).ToString(), .. ServerArguments(name)]);
                log.WriteLine($"[{started.Elapsed.TotalSeconds,6:0.0}s] started {name} into the running job; ranges move to it");
                continue;
            }
            log.WriteLine($"[{started.Elapsed.TotalSeconds,6:0.0}s] draining the server of rank {change.Rank}: its ranges move to the others, then it stops");
            try
            {
                await scheduler.DrainAsync(change.Rank).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
                log.WriteLine($"[{started.Elapsed.TotalSeconds,6:0.0}s] the server of rank {change.Rank} is drained and told to stop");
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                log.WriteLine($"[{started.Elapsed.TotalSeconds,6:0.0}s] drain of rank {change.Rank}: {e.Message}");
            }
        }
    }
    private int _checkpointsCommitted;
    private long? _resumedFrom;
    private readonly TaskCompletionSource _trainingStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private List<BenchResult> Report(JobProgress view, Dictionary<int, ProgressReport> finals, double seconds, AppChoice app, List<Reports.ProgressPoint> points)
    {
        if (!finals.ContainsKey(0))
            throw new InvalidOperationException("worker 0 finished without its final report");
        var metrics = finals.ToDictionary(p => p.Key, p => p.Value.Metrics);
        var summary = app.Summarise(metrics, seconds).Select(m => new BenchResult(m.Name, m.Value, m.Unit)).ToList();
        foreach (ProgressReport r in finals.Values.OrderBy(r => r.Worker))
        {
            double Metric(string name) => r.Metrics.TryGetValue(name, out double v) ? v : double.NaN;
            summary.Add(new BenchResult($"worker_{r.Worker}_compute_seconds", Metric("compute_seconds"), "s") { Extra = { ["worker"] = r.Worker } });
            summary.Add(new BenchResult($"worker_{r.Worker}_wait_seconds", Metric("wait_seconds"), "s") { Extra = { ["worker"] = r.Worker } });
            // Where the waiting went, by cause (request times summed, see WaitBreakdown).
            foreach (string cause in new[] { "network", "server", "consistency", "straggler" })
            {
                if (r.Metrics.TryGetValue($"wait_{cause}_seconds", out double s))
                    summary.Add(new BenchResult($"worker_{r.Worker}_wait_{cause}_seconds", s, "s") { Extra = { ["worker"] = r.Worker, ["cause"] = cause } });
            }
        }
        // From the SIGKILL of a server to the first request a new primary answered (any worker).
        double[] recovered = [.. finals.Values.Select(r => r.Metrics.GetValueOrDefault("recovered_at_unix_ms")).Where(t => t > _serverKilledAtUnixMs && _serverKilledAtUnixMs > 0)];
        if (recovered.Length > 0)
            summary.Add(new BenchResult("recovery_seconds", (recovered.Min() - _serverKilledAtUnixMs) / 1000.0, "s"));
        // From a membership change (a server added or drained) to the map that finished moving ranges.
        if (_lastRebalance.Ranges > 0)
        {
            summary.Add(new BenchResult("rebalance_seconds", _lastRebalance.Seconds, "s")
                { Extra = { ["ranges"] = _lastRebalance.Ranges, ["rows"] = _lastRebalance.Rows } });
        }
        // From the failure the scheduler saw to the map naming the new replicas of the chains it shortened.
        if (_lastRebuild.Ranges > 0)
        {
            summary.Add(new BenchResult("rebuild_seconds", _lastRebuild.Seconds, "s")
                { Extra = { ["ranges"] = _lastRebuild.Ranges, ["rows"] = _lastRebuild.Rows } });
        }
        if (options.Checkpoints.Enabled)
        {
            summary.Add(new BenchResult("checkpoints_committed", _checkpointsCommitted, "checkpoints"));
            if (_resumedFrom is long from)
                summary.Add(new BenchResult("resumed_from_clock", from, "clock"));
        }
        Reports.Convergence? convergence = null;
        if (options.Baseline && app is SparseLRChoice { Options.Algorithm: Apps.SparseLR.SparseLRAlgorithm.BlockProximal } lr)
            convergence = BaselineComparison.Run(lr.Options, points, options.Workers, summary, view.Log);
        view.Summary($"done in {seconds:0.0} s", summary);
        var config = new Dictionary<string, object>
        {
            ["app"] = app.Name, ["servers"] = options.Servers, ["shards"] = options.Shards, ["workers"] = options.Workers,
            ["transport"] = options.Transport.ToString().ToLowerInvariant(), ["replicas"] = options.Replicas,
            ["arguments"] = string.Join(' ', app.ToArguments()),
        };
        if (options.Json is not null)
        {
            JsonReport.Write(options.Json, "local", config, summary);
            output.WriteLine($"wrote {options.Json}");
        }
        if (options.Report is not null)
            Reports.RunReport.Write(options.Report, $"psf local: {app.Describe()}", config, summary, points, output, convergence);
        return summary;
    }
}
