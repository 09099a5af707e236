namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// The pushes a server has applied, by (worker, request id), so a push resent after a failover —
/// one the old primary applied and passed down the chain before it died, but never acknowledged —
/// is not applied twice. A worker resends only requests still in flight, so a bounded window of
/// the most recent ids per worker is enough.
/// </summary>
internal sealed class AppliedRequests(int windowPerWorker = 1 << 16)
{
    private readonly Dictionary<uint, (HashSet<ulong> Ids, Queue<ulong> Order)> _byWorker = [];

    /// <summary>Records the request; false when it was applied before.</summary>
    public bool TryRecord(uint worker, ulong requestId)
    {
        if (!_byWorker.TryGetValue(worker, out var window))
            _byWorker[worker] = window = ([], new Queue<ulong>());
        if (!window.Ids.Add(requestId))
            return false;
        window.Order.Enqueue(requestId);
        if (window.Order.Count > windowPerWorker)
            window.Ids.Remove(window.Order.Dequeue());
        return true;
    }
}
