using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// An update passed down the replica chain and not yet acknowledged by the chain's tail: what to
/// acknowledge upstream once it is (the worker's push, or the predecessor's forward), and the
/// update itself, kept to resend should the successor die and the chain be rebuilt.
/// </summary>
internal sealed record ChainForward(
    IConnection Upstream, bool UpstreamIsWorker, ulong UpstreamId, uint Worker, ulong WorkerRequestId,
    uint TableId, ulong[]? Keys, KeyRange? Range, float[] Values, long Started)
{
    /// <summary>The server the update was last sent to.</summary>
    public int Successor { get; set; }

    /// <summary>Whether it went out to <see cref="Successor"/> (false while that connection is being made).</summary>
    public bool Sent { get; set; }

    /// <summary>The server it came from down the chain (0 when it came from a worker).</summary>
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

    public IEnumerable<(ulong Id, ChainForward Forward)> All => _pending.Select(p => (p.Key, p.Value));
}
