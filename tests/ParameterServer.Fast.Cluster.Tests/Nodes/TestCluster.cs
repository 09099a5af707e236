using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.InProc;
using ParameterServer.Fast.Transport.Rdma;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// A whole job in this process, wired as `psf local` does: a scheduler, S servers started together
/// (none is registered until all have joined) and W worker clients, over the in-process transport or
/// TCP on 127.0.0.1, with a fresh cluster secret. Startup and disposal are bounded by timeouts.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    public static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(10);

    private readonly List<WorkerClient> _workers = [];
    private readonly HashSet<WorkerClient> _disposed = [];

    private TestCluster(ITransport transport, string transportName, SchedulerNode scheduler, List<ServerNode> servers)
    {
        Transport = transport;
        TransportName = transportName;
        Scheduler = scheduler;
        Servers = servers;
    }

    public ITransport Transport { get; }

    public string TransportName { get; }

    public SchedulerNode Scheduler { get; }

    public IReadOnlyList<ServerNode> Servers { get; }

    public IReadOnlyList<WorkerClient> Workers => _workers;

    public static IEnumerable<string> Transports() => ["inproc", "tcp"];

    /// <summary>
    /// Also shared memory, for the tests whose correctness rests on each connection keeping its
    /// frames in order (replica rebuilds, ranges moving): every transport must.
    /// </summary>
    public static IEnumerable<string> OrderedTransports() => ["inproc", "tcp", "shm"];

    private static readonly RdmaOptions FakeRdma = new()
    {
        Verbs = ParameterServer.Fast.Core.Interop.RdmaVerbs.Fake,
        RecvSlots = 64,
        SlotBytes = 4096,
        RegionBytes = 4 << 20,
        ChunkBytes = 1 << 20,
        StagingChunks = 2,
        MrCacheBytes = 2 << 20,
    };

    public static async Task<TestCluster> StartAsync(string transport, int servers, int workers, int replicas = 1, ParameterServer.Fast.Cluster.Checkpoints.CheckpointPolicy? checkpoints = null,
        TimeSpan? replacementTimeout = null, int replicationBatch = ServerNode.DefaultReplicationBatch, int shards = 1, long serverKeyCacheBytes = Codec.Keys.KeyCache.DefaultCapacityBytes)
    {
        ClusterSecret secret = ClusterSecret.Generate();
        string job = Guid.NewGuid().ToString("N")[..8];
        (ITransport t, Func<string, Endpoint> listen) = transport switch
        {
            "inproc" => ((ITransport)new InProcTransport(secret), (Func<string, Endpoint>)(name => Endpoint.Parse($"inproc://{job}-{name}"))),
            "tcp" => (new TcpTransport(secret), _ => Endpoint.Parse("tcp://127.0.0.1:0")),
            "shm" => (new Transport.Shm.ShmTransport(secret), name => Endpoint.Parse($"shm://psf-test-{job}-{name}")),
            // The RDMA transport over the shim's in-memory fake verbs (no device on these machines).
            "rdma-fake" => (new RdmaTransport(secret, options: FakeRdma), _ => Endpoint.Parse("rdma://127.0.0.1:0")),
            _ => throw new ArgumentException($"unknown transport {transport}", nameof(transport)),
        };
        var scheduler = new SchedulerNode(t, listen("scheduler"), new JobOptions { Servers = servers * shards, Workers = workers, Replicas = replicas, ReplacementTimeout = replacementTimeout ?? TimeSpan.FromSeconds(30) }) { Checkpoints = checkpoints };
        scheduler.Start();
        var nodes = new List<ServerNode>();
        // With shards, server s is `shards` nodes of failure domain "server-s" (Servers[s * shards + k]).
        for (int s = 0; s < servers; s++)
        {
            for (int k = 0; k < shards; k++)
            {
                nodes.Add(new ServerNode(t, ServerShards.ListenAt(listen($"server-{s}"), k), scheduler.Endpoint, replicationBatch: replicationBatch)
                {
                    FailureDomain = shards > 1 ? $"server-{s}" : "",
                    KeyCacheBytes = serverKeyCacheBytes,
                });
            }
        }
        var cluster = new TestCluster(t, transport, scheduler, nodes);
        try
        {
            using var cts = new CancellationTokenSource(StartupTimeout);
            await Task.WhenAll(nodes.Select(n => n.StartAsync(cts.Token))).WaitAsync(StartupTimeout);
            // Workers register one at a time so their ranks are their indexes here.
            for (int w = 0; w < workers; w++)
                cluster._workers.Add(await WorkerClient.ConnectAsync(t, scheduler.Endpoint, cancellationToken: cts.Token).WaitAsync(StartupTimeout));
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        for (int w = 0; w < workers; w++)
            Assert.That(cluster._workers[w].Rank, Is.EqualTo(w), "worker ranks follow the order of connection");
        return cluster;
    }

    /// <summary>Every worker declares <paramref name="spec"/>, as applications do; the first creates it, the rest find it.</summary>
    public async Task<TableHandle> DeclareEverywhereAsync(TableSpec spec)
    {
        TableHandle[] handles = await Bounded.Wait(Task.WhenAll(_workers.Select(w => w.DeclareTableAsync(spec))), $"declaring '{spec.Name}'", Bounded.Request);
        Assert.That(handles.Select(h => h.Id).Distinct().Count(), Is.EqualTo(1), $"every worker sees one table '{spec.Name}'");
        return handles[0];
    }

    /// <summary>Drops every connection of one server, as if its process died.</summary>
    public async Task KillServerAsync(int rank)
    {
        ServerNode s = Servers[rank];
        if (_killedServers.Add(s))
            await s.DisposeAsync().AsTask().WaitAsync(DisposeTimeout);
    }

    private readonly HashSet<ServerNode> _killedServers = [];

    /// <summary>Drops one worker's connections, as if its process died.</summary>
    public async Task KillWorkerAsync(int rank)
    {
        WorkerClient w = _workers[rank];
        if (_disposed.Add(w))
            await w.DisposeAsync().AsTask().WaitAsync(DisposeTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (WorkerClient w in _workers)
        {
            if (_disposed.Add(w))
                await w.DisposeAsync().AsTask().WaitAsync(DisposeTimeout);
        }
        foreach (ServerNode s in Servers)
        {
            if (_killedServers.Add(s))
                await s.DisposeAsync().AsTask().WaitAsync(DisposeTimeout);
        }
        await Scheduler.DisposeAsync().AsTask().WaitAsync(DisposeTimeout);
    }
}
