using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Who waits for a forward: a worker's push (acknowledged with a PushAck naming its request id)
/// or a predecessor's forward (a ReplicateAck naming that forward's id).
/// </summary>
internal readonly record struct ChainUpstream(IConnection Connection, ulong Id, long Started);

/// <summary>
/// Rows passed down the replica chain and not yet acknowledged by the chain's tail: their state
/// (one part of one table, see <see cref="Replication.ReplicatedRows"/>), and whom to acknowledge
/// once the tail holds them — every worker push aggregated into them at the primary, or the one
/// forward of the predecessor. Kept to resend should the successor die and the chain be rebuilt.
/// </summary>
internal sealed class ChainForward(uint tableId, KeyRange part, ulong[]? keys, KeyRange? rows, float[] values, byte[] extras,
    bool fromWorkers, IReadOnlyList<ChainUpstream> upstreams, long started)
{
    public uint TableId { get; } = tableId;

    /// <summary>The range (of the map it was made under) whose rows these are.</summary>
    public KeyRange Part { get; } = part;

    /// <summary>The rows' keys, sorted (a sparse table), or null with <see cref="Rows"/> set (a dense one).</summary>
    public ulong[]? Keys { get; } = keys;

    public KeyRange? Rows { get; } = rows;

    /// <summary>Weights and updater state of the rows, in <see cref="Core.Tables.Table.CopyRowsOut(ReadOnlySpan{ulong}, Span{float})"/>'s layout.</summary>
    public float[] Values { get; } = values;

    /// <summary>The frame's extras: the part and the (worker, request id) pairs the rows contain.</summary>
    public byte[] Extras { get; } = extras;

    /// <summary>True at the primary (the upstreams are workers), false down the chain (one predecessor).</summary>
    public bool FromWorkers { get; } = fromWorkers;

    public IReadOnlyList<ChainUpstream> Upstreams { get; } = upstreams;

    /// <summary>When the oldest update in it arrived here.</summary>
    public long Started { get; } = started;

    /// <summary>The server the rows were last sent to.</summary>
    public int Successor { get; set; }

    /// <summary>Whether they went out to <see cref="Successor"/> (false while that connection is being made).</summary>
    public bool Sent { get; set; }

    /// <summary>The server they came from down the chain (0 at the primary).</summary>
    public int UpstreamServer { get; init; }
}

/// <summary>The forwards in flight from one server, by forward id. Owned by the server's inbox.</summary>
internal sealed class ChainForwards
{
    private readonly Dictionary<ulong, ChainForward> _pending = [];
    private ulong _nextId;

    public int Count => _pending.Count;

    public ulong Add(ChainForward forward)
    {
        ulong id = ++_nextId;
        _pending[id] = forward;
        return id;
    }

    public bool TryTake(ulong id, out ChainForward? forward) => _pending.Remove(id, out forward);

    /// <summary>Every forward in flight, oldest first: a resend must keep their order (later rows overwrite earlier ones).</summary>
    public List<(ulong Id, ChainForward Forward)> InOrder() => [.. _pending.Select(p => (p.Key, p.Value)).OrderBy(p => p.Key)];
}
