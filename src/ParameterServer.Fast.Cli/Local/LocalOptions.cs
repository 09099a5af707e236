using ParameterServer.Fast.Cli.Commands;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cli.Local;

/// <summary>The options of `psf local`.</summary>
public sealed record LocalOptions
{
    public AppChoice App { get; init; } = new SparseLRChoice(new Apps.SparseLR.SparseLROptions());
    public int Servers { get; init; } = 2;
    /// <summary>Server nodes per server process (--shards): each owns its own key ranges and runs in parallel with the others.</summary>
    public int Shards { get; init; } = 1;
    public int Workers { get; init; } = 2;
    public TransportKind Transport { get; init; } = TransportKind.Tcp;
    public int Replicas { get; init; } = 1;
    /// <summary>Pushes of one range a server replicates together at most (--replication-batch).</summary>
    public int ReplicationBatch { get; init; } = Cluster.Nodes.ServerNode.DefaultReplicationBatch;
    public string? Json { get; init; }
    /// <summary>A folder for results.json, the figures as PNG and index.html.</summary>
    public string? Report { get; init; }
    public bool Quiet { get; init; }
    /// <summary>Encrypt TCP connections (each node with a self-signed certificate).</summary>
    public bool Tls { get; init; }
    /// <summary>Fault injection: worker ranks to SIGKILL, and when (seconds after the job starts); each is replaced.</summary>
    public IReadOnlyList<KillSpec> Kills { get; init; } = [];
    /// <summary>Membership changes: servers started into the running job, and servers drained out, and when.</summary>
    public IReadOnlyList<MembershipSpec> Membership { get; init; } = [];
    /// <summary>After a block proximal gradient job, also run the single-process baseline and compare (Figure 9).</summary>
    public bool Baseline { get; init; } = true;
    /// <summary>--checkpoint-dir, --checkpoint-every, --checkpoint-keep and --resume.</summary>
    public CheckpointArguments.Settings Checkpoints { get; init; } = new(null, 0, 2, false);
    /// <summary>The whole job must finish within this.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);
}

/// <summary>
/// --add server@S: start one more server process S seconds into the job (ranges move to it);
/// --drain server:N@S: move every range off the server of rank N, then it stops.
/// </summary>
public sealed record MembershipSpec(bool Add, int Rank, double Seconds);

/// <summary>--kill server:N@S or worker:N@S: SIGKILL that node's process S seconds into the job.</summary>
public sealed record KillSpec(bool Server, int Index, double Seconds)
{
    public string ProcessName => $"{(Server ? "server" : "worker")} {Index}";
}
