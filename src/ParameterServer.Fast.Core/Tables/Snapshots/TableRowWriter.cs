using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Tables.Snapshots;

/// <summary>
/// The import half of a snapshot: writes rows (weights and updater state) into a table exactly as
/// they were read, bypassing the updater. A key already present is overwritten, a missing one is
/// added; a key outside the table's range is refused before anything of the block is written.
/// </summary>
internal static class TableRowWriter
{
    public static void Import(Table table, RowBlock block)
    {
        if (block.Width != table.Width || block.StateCount != table.Updater.StateCount)
            throw new ArgumentException($"table '{table.Name}' has width {table.Width} and {table.Updater.StateCount} state values per weight ({table.Updater.Name}); the rows have {block.Width} and {block.StateCount}");
        ReadOnlySpan<ulong> keys = block.Keys;
        foreach (ulong key in keys)
        {
            if (!table.OwnedRange.Contains(key))
                throw new ArgumentOutOfRangeException(nameof(block), $"table '{table.Name}': key {key} is outside the range {table.OwnedRange} held here");
        }
        if (table is SparseTable sparse)
            ImportSparse(sparse, block);
        else
            ImportDense(table, block);
    }

    private static void ImportDense(Table table, RowBlock block)
    {
        ReadOnlySpan<ulong> keys = block.Keys;
        RowStore store = table.Store;
        // An exported dense table comes in runs of consecutive keys: one copy per array per run.
        int i = 0;
        while (i < keys.Length)
        {
            int run = 1;
            while (i + run < keys.Length && keys[i + run] == keys[i] + (ulong)run)
                run++;
            CopyRows(block, i, run, store, (long)(keys[i] - table.OwnedRange.Begin));
            i += run;
        }
    }

    private static void ImportSparse(SparseTable table, RowBlock block)
    {
        ReadOnlySpan<ulong> keys = block.Keys;
        RowStore store = table.Store;
        for (int i = 0; i < keys.Length; i++)
        {
            int slot = table.Index.GetOrAdd(keys[i], out bool added);
            if (added)
                store.EnsureRows(slot + 1L);
            CopyRows(block, i, 1, store, slot);
        }
    }

    private static void CopyRows(RowBlock block, int first, int rows, RowStore store, long row)
    {
        int width = block.Width;
        block.Weights.Slice(first * width, rows * width).CopyTo(store.WeightRows(row, rows));
        for (int s = 0; s < block.StateCount; s++)
            block.State(s).Slice(first * width, rows * width).CopyTo(store.StateRows(s, row, rows));
    }
}
