using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Operations;

/// <summary>
/// What the scheduler knows of a running job at one moment, as <c>psf status</c> shows it: every
/// node with its state, clock and throughput, and every table's ranges with their replica chains.
/// Sent in a StatusReply frame (<see cref="StatusMessages"/>).
/// </summary>
public sealed record ClusterStatus
{
    /// <summary>When the scheduler took the snapshot.</summary>
    public DateTimeOffset Taken { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The version of the range map in force.</summary>
    public uint RangeMapVersion { get; init; }

    /// <summary>Workers and servers the job was started with.</summary>
    public int Servers { get; init; }

    public int Workers { get; init; }

    public int Replicas { get; init; } = 1;

    /// <summary>The clock of the slowest live worker: every push up to it has been applied.</summary>
    public long JobClock { get; init; }

    /// <summary>The clock of the last committed checkpoint, or −1 when there is none.</summary>
    public long LastCheckpointClock { get; init; } = -1;

    public IReadOnlyList<NodeStatus> Nodes { get; init; } = [];

    public IReadOnlyList<TableStatus> Tables { get; init; } = [];
}

/// <summary>A node as the scheduler sees it. Values are wire ABI: append, never renumber.</summary>
public enum NodeState : byte
{
    /// <summary>Registered and heard from within the heartbeat timeout.</summary>
    Live = 1,
    /// <summary>Silent past the timeout, or its connection closed; its work moved elsewhere.</summary>
    Dead = 2,
    /// <summary>A worker that finished its shard.</summary>
    Done = 3,
    /// <summary>A worker waiting to replace a dead one.</summary>
    Spare = 4,
}

/// <param name="Id">The node id on the wire (<see cref="Nodes.NodeIds"/>).</param>
/// <param name="Endpoint">Where a server listens; "" for a worker.</param>
/// <param name="Clock">A worker's iteration; for a server, the slowest live worker clock it has seen.</param>
/// <param name="SecondsSinceHeard">Since the last frame from the node; NaN when no connection to it is open (dead, drained).</param>
/// <param name="RequestsPerSecond">Pushes and pulls handled (server) or sent (worker) per second, over the last interval.</param>
/// <param name="BytesPerSecond">Frame bytes received and sent per second, over the last interval.</param>
public sealed record NodeStatus(uint Id, NodeRole Role, int Rank, string Endpoint, NodeState State, long Clock,
    double SecondsSinceHeard, double RequestsPerSecond, double BytesPerSecond);

/// <summary>A declared table and how its key space is laid over the servers.</summary>
public sealed record TableStatus(uint Id, string Name, IReadOnlyList<RangeStatus> Ranges)
{
    /// <summary>The status of a table as the range map lays it out.</summary>
    public static TableStatus From(TableLayout layout) =>
        new(layout.Id, layout.Spec.Name, [.. layout.Ranges.Select(r => new RangeStatus(r.Range, r.Chain))]);
}

/// <summary>One range of a table and its replica chain, primary first (server node ids).</summary>
public sealed record RangeStatus(KeyRange Range, IReadOnlyList<int> Chain);
