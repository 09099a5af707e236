namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// The pushes a server has applied, by (worker, request id), so a push resent after a failover —
/// one the old primary applied and passed down the chain before it died, but never acknowledged —
/// is not applied twice. A worker resends only requests still in flight, so a bounded window of
/// the most recent ids per worker is enough. Each id remembers the range it updated (table and the
/// range's first key: a request covers one range, and ranges keep their boundaries), so a copy of
/// a range carries exactly the ids whose effect is in its rows.
/// </summary>
internal sealed class AppliedRequests(int windowPerWorker = 1 << 16)
{
    private sealed class Window
    {
        public Dictionary<ulong, (uint Table, ulong Range)> Ids { get; } = [];
        public Queue<ulong> Order { get; } = new();
    }

    private readonly Dictionary<uint, Window> _byWorker = [];

    /// <summary>Records the request (an update of the range of <paramref name="table"/> starting at <paramref name="rangeBegin"/>); false when it was applied before.</summary>
    public bool TryRecord(uint worker, ulong requestId, uint table, ulong rangeBegin)
    {
        if (!_byWorker.TryGetValue(worker, out Window? window))
            _byWorker[worker] = window = new Window();
        if (!window.Ids.TryAdd(requestId, (table, rangeBegin)))
            return false;
        window.Order.Enqueue(requestId);
        if (window.Order.Count > windowPerWorker)
            window.Ids.Remove(window.Order.Dequeue());
        return true;
    }

    /// <summary>The recorded ids of updates to ranges of <paramref name="table"/> starting within <paramref name="range"/>, oldest first, by worker.</summary>
    public List<(uint Worker, ulong[] Ids)> ExportFor(uint table, Core.Keys.KeyRange range)
    {
        var exported = new List<(uint, ulong[])>(_byWorker.Count);
        foreach ((uint worker, Window window) in _byWorker)
        {
            ulong[] ids = [.. window.Order.Where(id => window.Ids.TryGetValue(id, out var at) && at.Table == table && range.Contains(at.Range))];
            if (ids.Length > 0)
                exported.Add((worker, ids));
        }
        return exported;
    }

    /// <summary>
    /// Records ids applied elsewhere whose effect arrived here in a copy of the range's rows. Nothing
    /// is evicted for them: they must not push out this server's own recent ids, which a retry may
    /// still name, so the window may hold up to twice its size until later pushes age them out.
    /// </summary>
    public void Merge(uint worker, ReadOnlySpan<ulong> ids, uint table, ulong rangeBegin)
    {
        if (!_byWorker.TryGetValue(worker, out Window? window))
            _byWorker[worker] = window = new Window();
        foreach (ulong id in ids)
        {
            if (window.Ids.TryAdd(id, (table, rangeBegin)))
                window.Order.Enqueue(id);
        }
    }
}
