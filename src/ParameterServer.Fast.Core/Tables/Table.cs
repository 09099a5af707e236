using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Memory;
using ParameterServer.Fast.Core.Tables.Snapshots;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Core.Tables;

/// <summary>
/// Parameters as (key, row) pairs in pinned memory, updated through the table's updater. Keys are
/// first resolved to slots (row numbers); the key cache of a server keeps resolved slot lists so a
/// repeated key list skips the lookup. A table is owned by one shard thread: it takes no locks.
/// </summary>
public abstract class Table : IDisposable
{
    // 256 slots on the stack (1 KiB); longer key lists rent from the shared pool.
    private const int StackSlots = 256;

    private protected Table(TableSpec spec, KeyRange owned)
    {
        spec.Validate();
        Spec = spec;
        OwnedRange = owned;
        Updater = Updater.Create(spec.Updater, spec.Settings);
    }

    public TableSpec Spec { get; }

    public string Name => Spec.Name;

    public int Width => Spec.Width;

    /// <summary>The keys this table (on this server) holds or accepts.</summary>
    public KeyRange OwnedRange { get; }

    public Updater Updater { get; }

    /// <summary>Rows that exist (dense: every key of the range; sparse: keys pushed so far).</summary>
    public abstract long RowCount { get; }

    /// <summary>Bytes of pinned memory this table holds, index included.</summary>
    public abstract long BytesHeld { get; }

    internal abstract RowStore Store { get; }

    /// <summary>
    /// Resolves sorted unique keys to slots. With <paramref name="create"/> missing rows are added
    /// (initialised); without it a missing key gets slot −1.
    /// </summary>
    public abstract void ResolveSlots(ReadOnlySpan<ulong> keys, Span<int> slots, bool create);

    /// <summary>Pushes one row of values per key through the updater.</summary>
    public void Push(ReadOnlySpan<ulong> keys, ReadOnlySpan<float> values)
    {
        CheckRequest(keys, values.Length);
        int[]? rented = null;
        Span<int> slots = keys.Length <= StackSlots ? stackalloc int[keys.Length] : (rented = ArrayPool<int>.Shared.Rent(keys.Length)).AsSpan(0, keys.Length);
        try
        {
            ResolveSlots(keys, slots, create: true);
            Updater.ApplyRows(Store, slots, values);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>Copies one row per key into <paramref name="values"/>; unknown keys read their initial value.</summary>
    public void Pull(ReadOnlySpan<ulong> keys, Span<float> values)
    {
        CheckRequest(keys, values.Length);
        int[]? rented = null;
        Span<int> slots = keys.Length <= StackSlots ? stackalloc int[keys.Length] : (rented = ArrayPool<int>.Shared.Rent(keys.Length)).AsSpan(0, keys.Length);
        try
        {
            ResolveSlots(keys, slots, create: false);
            ReadSlots(keys, slots, values);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>Applies values to already resolved slots (the key-cache path).</summary>
    public void PushSlots(ReadOnlySpan<int> slots, ReadOnlySpan<float> values) => Updater.ApplyRows(Store, slots, values);

    /// <summary>Reads already resolved slots; slot −1 reads the initial value of keys[i].</summary>
    public void ReadSlots(ReadOnlySpan<ulong> keys, ReadOnlySpan<int> slots, Span<float> values)
    {
        int width = Width;
        if ((long)slots.Length * width != values.Length)
            throw new ArgumentException($"{slots.Length} rows of width {width} need {(long)slots.Length * width} values, got {values.Length}");
        RowStore store = Store;
        long rows = store.CommittedRows;
        ref float weights = ref store.WeightRef;
        for (int i = 0; i < slots.Length; i++)
        {
            int slot = slots[i];
            if (slot < 0)
                Spec.Initializer.Fill(keys[i], values.Slice(i * width, width));
            else if (slot >= rows)
                throw new ArgumentOutOfRangeException(nameof(slots), slot, $"slot outside the {rows} rows of table '{Name}'");
            else if (width == 1)
                values[i] = Unsafe.Add(ref weights, slot);
            else
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref weights, (nint)slot * width), width).CopyTo(values.Slice(i * width, width));
        }
    }

    /// <summary>
    /// Opens a reader of every row with its updater state (checkpoints, migration); read it on the
    /// thread that owns the table. See <see cref="TableRowReader"/>.
    /// </summary>
    public TableRowReader ExportRows() => new(this);

    /// <summary>Writes rows as <see cref="ExportRows"/> read them: weights and updater state, not through the updater.</summary>
    public void ImportRows(RowBlock rows) => TableRowWriter.Import(this, rows);

    /// <summary>Floats that <paramref name="rows"/> whole rows (weights and updater state) take in <see cref="CopyRowsOut(ReadOnlySpan{ulong}, Span{float})"/>'s layout.</summary>
    public long RowFloats(long rows) => TableRowCopy.FloatsFor(this, rows);

    /// <summary>
    /// Copies whole rows of sorted keys, weights then each updater state array, into
    /// <paramref name="rows"/> (see <see cref="TableRowCopy"/>): replication of the state an
    /// aggregation left. A key not in the table reads as a new row would be.
    /// </summary>
    public void CopyRowsOut(ReadOnlySpan<ulong> keys, Span<float> rows) => TableRowCopy.CopyOut(this, keys, rows);

    /// <summary>Writes whole rows as <see cref="CopyRowsOut(ReadOnlySpan{ulong}, Span{float})"/> read them, not through the updater.</summary>
    public void CopyRowsIn(ReadOnlySpan<ulong> keys, ReadOnlySpan<float> rows) => TableRowCopy.CopyIn(this, keys, rows);

    /// <summary>The same for a range of a dense table: one block copy per array.</summary>
    public void CopyRowsOut(KeyRange range, Span<float> rows) => TableRowCopy.CopyOut(this, range, rows);

    public void CopyRowsIn(KeyRange range, ReadOnlySpan<float> rows) => TableRowCopy.CopyIn(this, range, rows);

    /// <summary>
    /// Makes room for <paramref name="rows"/> more rows at once, before a bulk import: a sparse
    /// table sizes its key index for them (see <see cref="SlotIndex.Reserve"/>). A dense table holds every row already.
    /// </summary>
    public virtual void ReserveRows(long rows)
    {
    }

    private void CheckRequest(ReadOnlySpan<ulong> keys, int valueCount)
    {
        if ((long)keys.Length * Width != valueCount)
            throw new ArgumentException($"table '{Name}': {keys.Length} keys of width {Width} need {(long)keys.Length * Width} values, got {valueCount}");
        KeySet.Validate(keys);
        if (keys.Length > 0 && (!OwnedRange.Contains(keys[0]) || !OwnedRange.Contains(keys[^1])))
        {
            ulong bad = OwnedRange.Contains(keys[0]) ? keys[^1] : keys[0];
            throw new ArgumentOutOfRangeException(nameof(keys), $"table '{Name}': key {bad} is outside the range {OwnedRange} held here");
        }
    }

    public abstract void Dispose();

    /// <summary>Creates the table a spec declares, holding the keys of <paramref name="owned"/> (default: all of the spec's range).</summary>
    public static Table Create(TableSpec spec, KeyRange? owned = null, SlabOptions options = default)
    {
        KeyRange range = owned is { } o ? spec.Range.Intersect(o) : spec.Range;
        return spec.Kind == TableKind.Dense ? new DenseTable(spec, range, options) : new SparseTable(spec, range, options);
    }
}
