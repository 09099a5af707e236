using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// The shards of one server process. Each shard is a server node of its own: its own executor
/// (frames of its connections run one at a time), its own tables, its own key ranges on the
/// ring, so the shards apply pushes and answer pulls in parallel with no locks between them, and
/// a worker sends each part of a request straight to the shard that owns it (the range map names
/// shards, not processes). The shards of a process register one failure domain, so the scheduler
/// never puts two copies of a range into one process: a process that dies costs each chain at
/// most one member.
/// </summary>
public static class ServerShards
{
    /// <summary>The most shards one process may run.</summary>
    public const int MaxShards = 256;

    /// <summary>
    /// Where shard <paramref name="shard"/> of a process listens when the process was told to
    /// listen at <paramref name="listen"/>: shard 0 there, the others at the next ports (a port of
    /// 0 stays 0: each asks the OS for a free one), or for a named endpoint the name with "-shardK".
    /// </summary>
    public static Endpoint ListenAt(Endpoint listen, int shard)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        if (shard == 0)
            return listen;
        if (listen.Kind is TransportKind.Shm or TransportKind.InProc)
            return listen with { Host = $"{listen.Host}-shard{shard}" };
        if (listen.Port == 0)
            return listen;
        int port = listen.Port + shard;
        return port <= 65535
            ? listen with { Port = port }
            : throw new ArgumentOutOfRangeException(nameof(shard), $"shard {shard} of {listen} would listen past port 65535");
    }

    /// <summary>
    /// The failure domain of this process's shards when none is named: the machine, the process
    /// and a random part (containers may share a host name and each have pid 1). It changes when
    /// the process restarts, and so does where its ranges lie: a job resumed from a checkpoint
    /// needs the names of the first run (`--failure-domain`), which `psf local` always passes.
    /// </summary>
    public static string ProcessDomain() => $"{Environment.MachineName}/{Environment.ProcessId}/{Random.Shared.Next():x8}";

    /// <summary>Why a failure-domain name cannot be used, or null.</summary>
    public static string? CheckDomainName(string name) =>
        name.Length > Protocol.ControlMessages.MaxDomainLength ? $"is at most {Protocol.ControlMessages.MaxDomainLength} characters"
        : name.StartsWith('#') ? "may not begin with '#' (the names servers have of their own)"
        : null;
}
