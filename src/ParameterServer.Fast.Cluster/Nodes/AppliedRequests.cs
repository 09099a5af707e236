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

    /// <summary>The recorded ids of every worker, oldest first (a range copy carries them to the new replica).</summary>
    public List<(uint Worker, ulong[] Ids)> Export() => [.. _byWorker.Select(p => (p.Key, p.Value.Order.ToArray()))];

    /// <summary>
    /// Records ids applied elsewhere whose effect arrived here in a copy of the rows. Nothing is
    /// evicted for them: they must not push out this server's own recent ids, which a retry may
    /// still name, so the window may hold up to twice its size until later pushes age them out.
    /// </summary>
    public void Merge(uint worker, ReadOnlySpan<ulong> ids)
    {
        if (!_byWorker.TryGetValue(worker, out var window))
            _byWorker[worker] = window = ([], new Queue<ulong>());
        foreach (ulong id in ids)
        {
            if (window.Ids.Add(id))
                window.Order.Enqueue(id);
        }
    }
}
