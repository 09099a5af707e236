using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cli.Progress;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// `psf scheduler|server|worker`: the roles as separate processes on many machines. Every option
/// can also come from the environment as PSF_NAME (--servers from PSF_SERVERS, …), so Slurm, MPI
/// launchers or Kubernetes can start them; the cluster secret comes from --secret-file or PSF_SECRET.
/// </summary>
public static class NodeCommands
{
    public static int Scheduler(string[] argv, TextWriter output)
    {
        var args = new Arguments("scheduler", argv);
        Endpoint listen = ReadEndpoint(args, "listen", "tcp://0.0.0.0:7070");
        // --servers counts server processes; each runs --shards server nodes.
        int servers = args.Int("servers", 1, 1, 4096), shards = args.Int("shards", 1, 1, ServerShards.MaxShards);
        if (servers * shards > 4096)
            throw new UsageException($"psf scheduler: --servers {servers} × --shards {shards} is {servers * shards} server nodes; the most is 4096");
        var job = new JobOptions
        {
            Servers = servers * shards,
            Workers = args.Int("workers", 1, 1, 65535),
            Replicas = args.Int("replicas", 1, 1, 8),
        };
        // Copies of a range go to distinct server processes (failure domains), not shards.
        if (job.Replicas > servers)
            throw new UsageException($"psf scheduler: --replicas {job.Replicas} needs at least that many server processes (--servers {servers}; shards of one process hold one copy)");
        ClusterSecret secret = ReadSecret(args);
        CheckpointArguments.Settings checkpointSettings = CheckpointArguments.Read(args);
        using ILoggerFactory logs = Logging.Create();
        ITransport transport = TransportFactory.Create(listen.Kind, secret, logs.CreateLogger("transport"), ReadTls(args));
        MetricsOptions? metricsOptions = MetricsArguments.Read(args);
        string? json = args.String("json");
        args.EnsureAllUsed();
        Cluster.Checkpoints.CheckpointPolicy? checkpoints = CheckpointArguments.ToPolicy(checkpointSettings, "scheduler", output);
        using MetricsEndpoint? metrics = MetricsArguments.Start(metricsOptions, output);
        var scheduler = new SchedulerNode(transport, listen, job, logs.CreateLogger("scheduler")) { Checkpoints = checkpoints };
        // The scheduler sees every worker's reports: the job's progress is shown here (the app and
        // so the totals are unknown to it: iterations, throughput and the objective, no ETA).
        JobProgress view = JobProgress.For(output, quiet: false);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var finals = new SortedDictionary<int, IReadOnlyDictionary<string, double>>();
        view.BeginTraining(new TrainingTally(job.Workers, 0, 0, "objective"), "job");
        scheduler.Progress += r =>
        {
            view.OnReport(r, clock.Elapsed.TotalSeconds);
            if (!r.Done)
                return;
            lock (finals)
                finals[r.Worker] = r.Metrics;
            view.Log.WriteLine($"worker {r.Worker} done: {string.Join(", ", r.Metrics.Select(m => $"{m.Key} {m.Value:0.####}"))}");
        };
        scheduler.Start();
        view.Log.WriteLine($"psf scheduler listening on {scheduler.Endpoint} for {job.Servers} servers and {job.Workers} workers");
        scheduler.CheckpointCommitted += (at, folder, bytes) => view.Log.WriteLine($"checkpoint at clock {at} committed: {bytes:N0} bytes in {folder}");
        scheduler.CheckpointGivenUp += (at, why) => view.Log.WriteLine($"checkpoint at clock {at} not taken: {why}");
        view.RunAsync(async () =>
        {
            await scheduler.Finished.ConfigureAwait(false);
            return 0;
        }).GetAwaiter().GetResult();
        scheduler.DisposeAsync().AsTask().GetAwaiter().GetResult();
        List<BenchResult> results = [.. finals.SelectMany(w => w.Value.Select(m => new BenchResult($"worker_{w.Key}_{m.Key}", m.Value, "") { Extra = { ["worker"] = w.Key } }))];
        results.Add(new BenchResult("seconds", clock.Elapsed.TotalSeconds, "s"));
        view.Summary($"job done in {clock.Elapsed.TotalSeconds:0.0} s", results);
        // --json: every worker's final figures (worker_0_mismatches for sum-check, …), for scripts.
        if (json is not null)
        {
            JsonReport.Write(json, "scheduler", new Dictionary<string, object> { ["servers"] = job.Servers, ["workers"] = job.Workers, ["replicas"] = job.Replicas }, results);
            output.WriteLine($"wrote {json}");
        }
        return 0;
    }

    public static int Server(string[] argv, TextWriter output)
    {
        var args = new Arguments("server", argv);
        Endpoint scheduler = ReadEndpoint(args, "scheduler", null);
        // Between processes of one machine the server listens on shared memory when the
        // scheduler does; a name unique to this process keeps several servers apart.
        Endpoint listen = ReadEndpoint(args, "listen", scheduler.Kind switch
        {
            TransportKind.Shm => $"shm://psf-server-{Environment.ProcessId}",
            TransportKind.Rdma => "rdma://0.0.0.0:0",
            _ => "tcp://0.0.0.0:0",
        });
        if (listen.Kind != scheduler.Kind)
            throw new UsageException($"psf server: --listen {listen} and --scheduler {scheduler} must use the same transport");
        string? advertise = args.String("advertise");
        // This server's path of the job's shared checkpoint folder, when it is mounted elsewhere than on the scheduler.
        string? checkpointDir = args.String("checkpoint-dir");
        int replicationBatch = args.Int("replication-batch", ServerNode.DefaultReplicationBatch, 1, 4096);
        int shards = args.Int("shards", 1, 1, ServerShards.MaxShards);
        // The shards of this process fail together; --failure-domain groups processes that do too (a machine, a rack).
        string domain = args.String("failure-domain") is { Length: > 0 } named ? named : shards > 1 ? ServerShards.ProcessDomain() : "";
        if (ServerShards.CheckDomainName(domain) is { } bad)
            throw new UsageException($"psf server: --failure-domain '{domain}' {bad}");
        if (advertise is not null && listen.Kind is TransportKind.Shm)
            throw new UsageException("psf server: --advertise names a host for tcp:// or rdma://; a shm:// server is reached by its name on this machine");
        if (shards > 1 && listen.Kind is TransportKind.Tcp or TransportKind.Rdma && listen.Port + shards - 1 > 65535)
            throw new UsageException($"psf server: {shards} shards listening from port {listen.Port} would pass port 65535");
        ClusterSecret secret = ReadSecret(args);
        using ILoggerFactory logs = Logging.Create();
        ITransport transport = TransportFactory.Create(listen.Kind, secret, logs.CreateLogger("transport"), ReadTls(args));
        MetricsOptions? metricsOptions = MetricsArguments.Read(args);
        args.EnsureAllUsed();
        using MetricsEndpoint? metrics = MetricsArguments.Start(metricsOptions, output);
        List<ServerNode> nodes = [.. Enumerable.Range(0, shards).Select(k => new ServerNode(transport, ServerShards.ListenAt(listen, k), scheduler, logs.CreateLogger(shards > 1 ? $"server-shard{k}" : "server"), advertise, replicationBatch)
        {
            CheckpointDirectory = checkpointDir,
            FailureDomain = domain,
        })];
        Task.WhenAll(nodes.Select(n => n.StartAsync(CancellationToken.None))).GetAwaiter().GetResult();
        output.WriteLine(shards > 1
            ? $"psf server serving as {shards} shards (server ranks {string.Join(", ", nodes.Select(n => n.Rank))}, failure domain {domain})"
            : $"psf server {nodes[0].Rank} serving");
        // A shard stops when the scheduler says so (the job ended, or it was drained); the process
        // ends when every shard has.
        Task.WhenAll(nodes.Select(n => n.Stopped)).GetAwaiter().GetResult();
        foreach (ServerNode node in nodes)
            node.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }

    public static int Worker(string[] argv, TextWriter output)
    {
        var args = new Arguments("worker", argv);
        Endpoint scheduler = ReadEndpoint(args, "scheduler", null);
        AppChoice app = AppArguments.Read(args);
        ClusterSecret secret = ReadSecret(args);
        using ILoggerFactory logs = Logging.Create();
        ITransport transport = TransportFactory.Create(scheduler.Kind, secret, logs.CreateLogger("transport"), ReadTls(args));
        MetricsOptions? metricsOptions = MetricsArguments.Read(args);
        args.EnsureAllUsed();
        using MetricsEndpoint? metrics = MetricsArguments.Start(metricsOptions, output);
        // A worker's own reports go to the scheduler, which shows the job's progress; here a
        // spinner with the elapsed time on a terminal, one line when the work is done otherwise.
        JobProgress view = JobProgress.For(output, quiet: false);
        WorkerClient client = view.RunAsync(async () =>
        {
            WorkerClient connected;
            using (view.BeginStage($"connecting to {scheduler}", 0, ""))
                connected = await WorkerClient.ConnectAsync(transport, scheduler, logs.CreateLogger("worker")).ConfigureAwait(false);
            using (view.BeginStage($"worker {connected.Rank}: {app.Name}", 0, ""))
                await app.RunAsync(connected, CancellationToken.None).ConfigureAwait(false);
            return connected;
        }).GetAwaiter().GetResult();
        output.WriteLine($"psf worker {client.Rank} done");
        client.ShutdownRequested.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }).GetAwaiter().GetResult();
        client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }

    private static Endpoint ReadEndpoint(Arguments args, string name, string? fallback)
    {
        string text = args.String(name) ?? fallback ?? throw new UsageException($"psf {args.Command}: --{name} ADDRESS is required (or PSF_{name.ToUpperInvariant()})");
        try
        {
            Endpoint e = Endpoint.Parse(text);
            return e.Kind is TransportKind.Tcp or TransportKind.Shm or TransportKind.Rdma
                ? e
                : throw new UsageException($"psf {args.Command}: --{name} must be a tcp://, shm:// or rdma:// address between processes, got '{text}'");
        }
        catch (FormatException ex)
        {
            throw new UsageException($"psf {args.Command}: --{name}: {ex.Message}");
        }
    }

    /// <summary>--tls (a self-signed certificate) or --tls-cert FILE.pfx [--tls-password P]; null for plain TCP.</summary>
    internal static TlsOptions? ReadTls(Arguments args)
    {
        string? certificate = args.String("tls-cert");
        string? password = args.String("tls-password");
        if (certificate is not null)
            return TlsOptions.FromFile(certificate, password);
        return args.Flag("tls") ? TlsOptions.SelfSigned() : null;
    }

    private static ClusterSecret ReadSecret(Arguments args) =>
        ClusterSecret.FromEnvironment(args.String("secret-file"))
        ?? throw new UsageException($"psf {args.Command}: no cluster secret: set PSF_SECRET or pass --secret-file FILE (the same on every node)");
}
