namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>The shape of a job, as the scheduler enforces it.</summary>
public sealed record JobOptions
{
    public int Servers { get; init; } = 1;
    public int Workers { get; init; } = 1;
    /// <summary>Servers holding each key range (primary + backups).</summary>
    public int Replicas { get; init; } = 1;
    /// <summary>Virtual nodes per server on the consistent-hashing ring.</summary>
    public int VirtualNodes { get; init; } = 16;
    /// <summary>How often idle nodes tell the scheduler they are alive.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Silence after which the scheduler declares a node dead.</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How long a dead worker's shard waits for a replacement worker before the job ends without it.</summary>
    public TimeSpan ReplacementTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (Servers is < 1 or > 4096)
            throw new ArgumentException($"servers must be in 1..4096, got {Servers}");
        if (Workers is < 1 or > 65535)
            throw new ArgumentException($"workers must be in 1..65535, got {Workers}");
        if (Replicas < 1 || Replicas > Servers)
            throw new ArgumentException($"replicas must be in 1..servers ({Servers}), got {Replicas}");
        if (HeartbeatInterval <= TimeSpan.Zero || HeartbeatTimeout <= HeartbeatInterval)
            throw new ArgumentException($"the heartbeat timeout ({HeartbeatTimeout}) must exceed the positive interval ({HeartbeatInterval})");
        if (VirtualNodes is < 1 or > 1024)
            throw new ArgumentException($"virtual nodes must be in 1..1024, got {VirtualNodes}");
    }
}
