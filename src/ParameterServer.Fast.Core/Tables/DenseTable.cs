using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Tables;

/// <summary>
/// Every key of a range, rows contiguous in key order: key k lives in slot k − Begin, so a range
/// push is one SIMD pass and a range pull one copy.
/// </summary>
public sealed class DenseTable : Table
{
    private readonly RowStore _store;

    public DenseTable(TableSpec spec, KeyRange owned, SlabOptions options = default) : base(spec, owned)
    {
        if (owned.IsEmpty || owned.Size > int.MaxValue)
            throw new ArgumentException($"table '{spec.Name}': a dense range must hold 1..{int.MaxValue} keys, got {owned}");
        _store = new RowStore(spec.Width, Updater.StateCount, (long)owned.Size, options);
        _store.EnsureRows((long)owned.Size);
        if (!spec.Initializer.IsZero)
        {
            for (long r = 0; r < (long)owned.Size; r++)
                spec.Initializer.Fill(owned.Begin + (ulong)r, _store.WeightRows(r, 1));
        }
    }

    public override long RowCount => (long)OwnedRange.Size;

    public override long BytesHeld => _store.BytesHeld;

    internal override RowStore Store => _store;

    public override void ResolveSlots(ReadOnlySpan<ulong> keys, Span<int> slots, bool create)
    {
        if (slots.Length != keys.Length)
            throw new ArgumentException($"{keys.Length} keys need {keys.Length} slots, got {slots.Length}");
        KeyRange range = OwnedRange;
        for (int i = 0; i < keys.Length; i++)
        {
            ulong key = keys[i];
            if (!range.Contains(key))
                throw new ArgumentOutOfRangeException(nameof(keys), $"table '{Name}': key {key} is outside its range {range}");
            slots[i] = (int)(key - range.Begin);
        }
    }

    /// <summary>Pushes the rows of <paramref name="range"/> (values in key order) through the updater.</summary>
    public void PushRange(KeyRange range, ReadOnlySpan<float> values)
    {
        CheckRange(range, values.Length);
        Updater.ApplyRange(_store, (long)(range.Begin - OwnedRange.Begin), values);
    }

    /// <summary>Copies the rows of <paramref name="range"/> into <paramref name="values"/>.</summary>
    public void PullRange(KeyRange range, Span<float> values)
    {
        CheckRange(range, values.Length);
        _store.WeightRows((long)(range.Begin - OwnedRange.Begin), (int)range.Size).CopyTo(values);
    }

    /// <summary>
    /// The rows of <paramref name="range"/> as bytes in the table's slab itself (no copy), for a
    /// pull answer sent from in place: the caller's send must be over before the table changes.
    /// False when the rows lie beyond 2 GiB into the slab.
    /// </summary>
    public bool TryGetRangeBytes(KeyRange range, out ReadOnlyMemory<byte> bytes)
    {
        CheckRange(range, checked((int)((long)range.Size * Width)));
        return _store.TryGetWeightBytes((long)(range.Begin - OwnedRange.Begin), (int)range.Size, out bytes);
    }

    /// <summary>The weights of every row, in key order (for checkpoints and tests).</summary>
    public ReadOnlySpan<float> Weights => _store.WeightRows(0, (int)RowCount);

    private void CheckRange(KeyRange range, int valueCount)
    {
        if (!OwnedRange.Contains(range))
            throw new ArgumentOutOfRangeException(nameof(range), $"table '{Name}': range {range} is outside {OwnedRange}");
        if ((long)range.Size * Width != valueCount)
            throw new ArgumentException($"table '{Name}': range {range} of width {Width} needs {(long)range.Size * Width} values, got {valueCount}");
    }

    public override void Dispose() => _store.Dispose();
}
