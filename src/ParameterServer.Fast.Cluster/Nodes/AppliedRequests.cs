namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// The pushes a server has applied, by (worker, request id), so a push resent after a failover —
/// one the old primary applied and passed down the chain before it died, but never acknowledged —
/// is not applied twice. A worker resends only requests still in flight, so a bounded window of
/// the most recent ids per worker is enough.
/// </summary>
internal sealed class AppliedRequests(int windowPerWorker = 1 << 16)
{
    private sealed class Window
    {
        public HashSet<ulong> Ids { get; } = [];
        public Queue<ulong> Order { get; } = new();
        /// <summary>Ids ever enqueued: with the queue's length, where an earlier export stopped.</summary>
        public long Recorded { get; set; }
    }

    private readonly Dictionary<uint, Window> _byWorker = [];

    /// <summary>Records the request; false when it was applied before.</summary>
    public bool TryRecord(uint worker, ulong requestId)
    {
        if (!_byWorker.TryGetValue(worker, out Window? window))
            _byWorker[worker] = window = new Window();
        if (!window.Ids.Add(requestId))
            return false;
        window.Order.Enqueue(requestId);
        window.Recorded++;
        if (window.Order.Count > windowPerWorker)
            window.Ids.Remove(window.Order.Dequeue());
        return true;
    }

    /// <summary>
    /// The ids recorded since the export <paramref name="marks"/> remember (all of them for a worker
    /// not in it), oldest first, by worker; <paramref name="marks"/> then points past them. A range
    /// copy carries these to the new replica; its later copies from here need only what is new.
    /// </summary>
    public List<(uint Worker, ulong[] Ids)> ExportSince(Dictionary<uint, long> marks)
    {
        var exported = new List<(uint, ulong[])>(_byWorker.Count);
        foreach ((uint worker, Window window) in _byWorker)
        {
            long first = window.Recorded - window.Order.Count;
            int skip = (int)Math.Max(0, marks.GetValueOrDefault(worker) - first);
            exported.Add((worker, [.. window.Order.Skip(skip)]));
            marks[worker] = window.Recorded;
        }
        return exported;
    }

    /// <summary>
    /// Records ids applied elsewhere whose effect arrived here in a copy of the rows. Nothing is
    /// evicted for them: they must not push out this server's own recent ids, which a retry may
    /// still name, so the window may hold up to twice its size until later pushes age them out.
    /// </summary>
    public void Merge(uint worker, ReadOnlySpan<ulong> ids)
    {
        if (!_byWorker.TryGetValue(worker, out Window? window))
            _byWorker[worker] = window = new Window();
        foreach (ulong id in ids)
        {
            if (window.Ids.Add(id))
            {
                window.Order.Enqueue(id);
                window.Recorded++;
            }
        }
    }
}
