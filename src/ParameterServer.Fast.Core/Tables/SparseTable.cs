using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Tables;

/// <summary>
/// Arbitrary uint64 keys, each with a row of fixed width. Rows are numbered in the order keys
/// first arrive and never move; the <see cref="SlotIndex"/> maps keys to them.
/// Memory for one float per key: index ≈ 10.7 bytes (8-byte entries at ≤ 0.75 load) + key 8 + value 4.
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

    public override void ResolveSlots(ReadOnlySpan<ulong> keys, Span<int> slots, bool create)
    {
        if (slots.Length != keys.Length)
            throw new ArgumentException($"{keys.Length} keys need {keys.Length} slots, got {slots.Length}");
        if (!create)
        {
            for (int i = 0; i < keys.Length; i++)
                slots[i] = _index.Find(keys[i]);
            return;
        }
        bool initialise = !Spec.Initializer.IsZero;
        for (int i = 0; i < keys.Length; i++)
        {
            ulong key = keys[i];
            if (!OwnedRange.Contains(key))
                throw new ArgumentOutOfRangeException(nameof(keys), $"table '{Name}': key {key} is outside the range {OwnedRange} held here");
            int slot = _index.GetOrAdd(key, out bool added);
            if (added)
            {
                _store.EnsureRows(slot + 1L);
                if (initialise)
                    Spec.Initializer.Fill(key, _store.WeightRows(slot, 1));
            }
            slots[i] = slot;
        }
    }

    /// <summary>The key of a slot (for checkpoints and migration).</summary>
    public ulong KeyAt(int slot) => _index.KeyAt(slot);

    public override void Dispose()
    {
        _store.Dispose();
        _index.Dispose();
    }
}
