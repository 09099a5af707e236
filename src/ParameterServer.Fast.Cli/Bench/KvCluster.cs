using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Shm;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>A scheduler, S servers and W workers in this process over a real transport (shm or loopback TCP) or the in-process one, for `psf bench kv` and `psf bench apps`.</summary>
internal sealed class KvCluster : IAsyncDisposable
{
    private readonly SchedulerNode _scheduler;
    private readonly List<ServerNode> _servers;

    private KvCluster(SchedulerNode scheduler, List<ServerNode> servers, List<WorkerClient> workers)
    {
        _scheduler = scheduler;
        _servers = servers;
        Workers = workers;
    }

    public IReadOnlyList<WorkerClient> Workers { get; }

    public static async Task<KvCluster> StartAsync(TransportKind kind, int servers, int workers, bool keyCaching = true, int shards = 1)
    {
        ClusterSecret secret = ClusterSecret.Generate();
        string job = $"psf-kv-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40];
        ITransport transport = kind switch
        {
            TransportKind.Shm => new ShmTransport(secret),
            TransportKind.Tcp => new TcpTransport(secret),
            TransportKind.InProc => new Transport.InProc.InProcTransport(secret),
            _ => throw new ArgumentException($"psf bench: transport {kind} is not benchmarked: use shm, tcp or inproc"),
        };
        Endpoint Listen(string name) => kind switch
        {
            TransportKind.Shm => Endpoint.Parse($"shm://{job}-{name}"),
            TransportKind.InProc => Endpoint.Parse($"inproc://{job}-{name}"),
            _ => Endpoint.Parse("tcp://127.0.0.1:0"),
        };
        var scheduler = new SchedulerNode(transport, Listen("scheduler"), new JobOptions { Servers = servers * shards, Workers = workers });
        scheduler.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // Each server is `shards` nodes sharing a failure domain, as `psf server --shards` runs them.
        var serverNodes = Enumerable.Range(0, servers).SelectMany(s => Enumerable.Range(0, shards).Select(k =>
            new ServerNode(transport, ServerShards.ListenAt(Listen($"server-{s}"), k), scheduler.Endpoint) { FailureDomain = shards > 1 ? $"server-{s}" : "" })).ToList();
        await Task.WhenAll(serverNodes.Select(s => s.StartAsync(cts.Token))).ConfigureAwait(false);
        WorkerClient[] clients = await Task.WhenAll(Enumerable.Range(0, workers)
            .Select(_ => WorkerClient.ConnectAsync(transport, scheduler.Endpoint, cancellationToken: cts.Token, keyCaching: keyCaching))).ConfigureAwait(false);
        return new KvCluster(scheduler, serverNodes, [.. clients]);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (WorkerClient w in Workers)
            await w.DisposeAsync().ConfigureAwait(false);
        foreach (ServerNode s in _servers)
            await s.DisposeAsync().ConfigureAwait(false);
        await _scheduler.DisposeAsync().ConfigureAwait(false);
    }
}
