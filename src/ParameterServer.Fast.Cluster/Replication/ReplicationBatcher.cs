using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Replication;

/// <summary>
/// The pushes a primary has applied but not yet passed down their chains, gathered per range of
/// the map: the rows they touched and whom to acknowledge. A batch is closed after
/// <see cref="MaxPushes"/> pushes, or as soon as the server has nothing else to do (the inbox's
/// idle step), so batching costs no latency when the server keeps up and saves a frame, an
/// acknowledgement and a copy of every row touched twice when it does not. Owned by the server's inbox.
/// </summary>
internal sealed class ReplicationBatcher(int maxPushes)
{
    /// <summary>The pushes of one range waiting to be replicated together.</summary>
    internal sealed class Batch(uint table, KeyRange part, long started)
    {
        public uint Table { get; } = table;
        public KeyRange Part { get; } = part;
        public long Started { get; } = started;
        public List<ChainUpstream> Upstreams { get; } = [];
        public List<(uint Worker, ulong RequestId)> Pushes { get; } = [];

        /// <summary>Dense rows touched: the smallest range holding every pushed range. A hull, not a
        /// list: dense pushes of a batch are mostly the same range (a layer, a worker's slice), and
        /// rows between two pushed ranges are sent unchanged, which the receiver overwrites harmlessly.</summary>
        public KeyRange? Hull { get; private set; }

        /// <summary>Sparse keys touched, as the pushes' sorted lists; merged once, when the batch closes.</summary>
        public List<ulong[]> KeyLists { get; } = [];

        public void Touch(KeyRange range) =>
            Hull = Hull is { } h ? new KeyRange(Math.Min(h.Begin, range.Begin), Math.Max(h.End, range.End)) : range;

        /// <summary>The sparse keys touched, sorted and unique.</summary>
        public ulong[] MergedKeys()
        {
            if (KeyLists.Count == 1)
                return KeyLists[0];
            var all = new ulong[KeyLists.Sum(k => k.Length)];
            int at = 0;
            foreach (ulong[] keys in KeyLists)
            {
                keys.CopyTo(all, at);
                at += keys.Length;
            }
            Array.Sort(all);
            int unique = 0;
            for (int i = 0; i < all.Length; i++)
            {
                if (unique == 0 || all[i] != all[unique - 1])
                    all[unique++] = all[i];
            }
            return unique == all.Length ? all : all[..unique];
        }
    }

    private readonly Dictionary<(uint Table, ulong PartBegin), Batch> _open = [];

    public int MaxPushes { get; } = maxPushes >= 1 ? maxPushes : throw new ArgumentOutOfRangeException(nameof(maxPushes), maxPushes, "a batch holds at least one push");

    public bool IsEmpty => _open.Count == 0;

    /// <summary>
    /// Adds an applied push (or a retry of one applied before: its rows must still reach the
    /// chain); returns the batch once it is full, taken out of the open ones, for the caller to send.
    /// </summary>
    public Batch? Add(uint table, KeyRange part, KeyRange? range, ReadOnlySpan<ulong> keys, ChainUpstream upstream, uint worker, ulong requestId)
    {
        if (!_open.TryGetValue((table, part.Begin), out Batch? batch) || batch.Part != part)
        {
            // A part of the same start but another extent belongs to an older map; maps close every batch first.
            _open[(table, part.Begin)] = batch = new Batch(table, part, upstream.Started);
        }
        if (range is { } r)
            batch.Touch(r);
        else
            batch.KeyLists.Add(keys.ToArray());
        batch.Upstreams.Add(upstream);
        batch.Pushes.Add((worker, requestId));
        if (batch.Upstreams.Count < MaxPushes)
            return null;
        _open.Remove((table, part.Begin));
        return batch;
    }

    /// <summary>Takes every open batch, oldest first.</summary>
    public List<Batch> TakeAll()
    {
        List<Batch> all = [.. _open.Values.OrderBy(b => b.Started)];
        _open.Clear();
        return all;
    }
}
