using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Tables;

/// <summary>
/// Arbitrary uint64 keys, each with a row of fixed width. Rows are numbered in the order keys
/// first arrive and never move; the <see cref="SlotIndex"/> maps keys to them.
/// Memory for one float per key: index ≤ 19.7 bytes (see <see cref="SlotIndex"/>) + value 4.
/// </summary>
public sealed class SparseTable : Table
{
    private readonly RowStore _store;
    private readonly SlotIndex _index;

    public SparseTable(TableSpec spec, KeyRange owned, SlabOptions options = default) : base(spec, owned)
    {
        _store = new RowStore(spec.Width, Updater.StateCount, spec.MaxRows, options);
        _index = new SlotIndex(spec.MaxRows, options);
    }

    public override long RowCount => _index.Count;

    public override long BytesHeld => _store.BytesHeld + _index.BytesHeld;

    internal override RowStore Store => _store;

    internal SlotIndex Index => _index;

    // Lookups are pipelined over the key list: hash key i + Distance and prefetch its bucket, then
    // probe key i, whose bucket is by then in the cache. 16 keys ahead keeps enough misses in
    // flight to hide DRAM latency (about 140 ns here) behind the work of the keys between.
    private const int Distance = 16;

    public override void ResolveSlots(ReadOnlySpan<ulong> keys, Span<int> slots, bool create)
    {
        if (slots.Length != keys.Length)
            throw new ArgumentException($"{keys.Length} keys need {keys.Length} slots, got {slots.Length}");
        if (create && keys.Length > 0 && (!OwnedRange.Contains(keys[0]) || !OwnedRange.Contains(keys[^1])))
        {
            ulong bad = OwnedRange.Contains(keys[0]) ? keys[^1] : keys[0];
            throw new ArgumentOutOfRangeException(nameof(keys), $"table '{Name}': key {bad} is outside the range {OwnedRange} held here");
        }
        bool initialise = !Spec.Initializer.IsZero;
        Span<ulong> hashes = stackalloc ulong[Distance];
        int n = keys.Length;
        for (int i = 0; i < Math.Min(Distance, n); i++)
        {
            hashes[i] = KeyHash.IndexHash(keys[i]);
            _index.PrefetchBucket(hashes[i]);
        }
        for (int i = 0; i < n; i++)
        {
            ulong key = keys[i], hash = hashes[i % Distance];
            int ahead = i + Distance;
            if (ahead < n)
            {
                ulong h = KeyHash.IndexHash(keys[ahead]);
                hashes[ahead % Distance] = h;
                _index.PrefetchBucket(h);
            }
            if (!create)
            {
                slots[i] = _index.Find(key, hash);
                continue;
            }
            int slot = _index.GetOrAdd(key, hash, out bool added);
            if (added)
            {
                _store.EnsureRows(slot + 1L);
                if (initialise)
                    Spec.Initializer.Fill(key, _store.WeightRows(slot, 1));
            }
            slots[i] = slot;
        }
    }

    /// <inheritdoc/>
    public override void ReserveRows(long rows)
    {
        long total = Math.Min(RowCount + rows, Spec.MaxRows);
        _index.Reserve(total);
        _store.EnsureRows(total);
    }

    /// <summary>Calls <paramref name="visit"/> with every (key, slot), in no particular order (checkpoints, migration).</summary>
    public void ForEachKey(Action<ulong, int> visit) => _index.ForEach(visit);

    public override void Dispose()
    {
        _store.Dispose();
        _index.Dispose();
    }
}
