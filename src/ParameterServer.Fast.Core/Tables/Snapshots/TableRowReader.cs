using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Tables.Snapshots;

/// <summary>
/// Reads every row of a table, with its updater state, a <see cref="RowBlock"/> at a time: the
/// export half of a snapshot. A dense table comes out in key order; a sparse table in the order of
/// its slot index (no sort, no key list of the whole table). Like the table, a reader belongs to
/// the thread that owns the table; a sparse table that gains a row while being read makes the next
/// <see cref="Read"/> throw instead of silently skipping or repeating keys.
/// </summary>
public sealed class TableRowReader
{
    private readonly Table _table;
    private readonly SparseTable? _sparse;
    private int[] _slots = [];
    private long _cursor;

    internal TableRowReader(Table table)
    {
        _table = table;
        _sparse = table as SparseTable;
        RowCount = table.RowCount;
    }

    /// <summary>Rows the table held when the reader was opened: the number <see cref="Read"/> will return in all.</summary>
    public long RowCount { get; }

    /// <summary>Rows returned so far.</summary>
    public long RowsRead { get; private set; }

    /// <summary>Fills <paramref name="block"/> with the next rows; returns how many, 0 once every row was read.</summary>
    public int Read(RowBlock block)
    {
        if (block.Width != _table.Width || block.StateCount != _table.Updater.StateCount)
            throw new ArgumentException($"table '{_table.Name}' has width {_table.Width} and {_table.Updater.StateCount} state values per weight; the block has {block.Width} and {block.StateCount}");
        if (_table.RowCount != RowCount)
            throw new InvalidOperationException($"table '{_table.Name}' went from {RowCount} to {_table.RowCount} rows while being read: read it on the thread that owns it");
        int n = _sparse is null ? ReadDense(block) : ReadSparse(block, _sparse);
        RowsRead += n;
        return n;
    }

    private int ReadDense(RowBlock block)
    {
        int n = (int)Math.Min(block.Capacity, RowCount - _cursor);
        block.SetCount(n);
        if (n == 0)
            return 0;
        ulong first = _table.OwnedRange.Begin + (ulong)_cursor;
        Span<ulong> keys = block.Keys;
        for (int i = 0; i < n; i++)
            keys[i] = first + (ulong)i;
        RowStore store = _table.Store;
        store.WeightRows(_cursor, n).CopyTo(block.Weights);
        for (int s = 0; s < block.StateCount; s++)
            store.StateRows(s, _cursor, n).CopyTo(block.State(s));
        _cursor += n;
        return n;
    }

    private int ReadSparse(RowBlock block, SparseTable table)
    {
        if (_slots.Length < block.Capacity)
            _slots = new int[block.Capacity];
        int n = table.Index.CopyEntries(ref _cursor, block.AllKeys[..block.Capacity], _slots.AsSpan(0, block.Capacity));
        block.SetCount(n);
        RowStore store = table.Store;
        int width = block.Width;
        Span<float> weights = block.Weights;
        for (int i = 0; i < n; i++)
            store.WeightRows(_slots[i], 1).CopyTo(weights.Slice(i * width, width));
        for (int s = 0; s < block.StateCount; s++)
        {
            Span<float> state = block.State(s);
            for (int i = 0; i < n; i++)
                store.StateRows(s, _slots[i], 1).CopyTo(state.Slice(i * width, width));
        }
        return n;
    }
}
