using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Tables.Snapshots;

/// <summary>
/// Whole rows of chosen keys (weights and updater state) copied out of a table into one flat
/// array and back in, bypassing the updater: what a replica chain sends when it replicates the
/// state an aggregation left rather than every push that made it. The flat layout is the store's
/// own, structure of arrays, so a dense range is one block copy per array:
/// <code>
///   [weights: n × width][state 0: n × width] … [state S−1: n × width]     n = rows, S = updater state arrays
/// </code>
/// </summary>
internal static class TableRowCopy
{
    public static long FloatsFor(Table table, long rows) => checked(rows * table.Width * (1 + table.Updater.StateCount));

    /// <summary>Rows of the sorted keys; a key the table lacks reads its initial weight and zero state (a new row's).</summary>
    public static void CopyOut(Table table, ReadOnlySpan<ulong> keys, Span<float> rows)
    {
        Check(table, keys.Length, rows.Length);
        RowStore store = table.Store;
        int width = table.Width, n = keys.Length;
        int[] slots = new int[n];
        table.ResolveSlots(keys, slots, create: false);
        for (int i = 0; i < n; i++)
        {
            Span<float> weights = rows.Slice(i * width, width);
            if (slots[i] < 0)
            {
                table.Spec.Initializer.Fill(keys[i], weights);
                for (int s = 0; s < store.StateCount; s++)
                    rows.Slice(((s + 1) * n + i) * width, width).Clear();
                continue;
            }
            store.WeightRows(slots[i], 1).CopyTo(weights);
            for (int s = 0; s < store.StateCount; s++)
                store.StateRows(s, slots[i], 1).CopyTo(rows.Slice(((s + 1) * n + i) * width, width));
        }
    }

    /// <summary>Writes the rows of the sorted keys as <see cref="CopyOut"/> read them; missing rows are added.</summary>
    public static void CopyIn(Table table, ReadOnlySpan<ulong> keys, ReadOnlySpan<float> rows)
    {
        Check(table, keys.Length, rows.Length);
        CheckOwned(table, keys.IsEmpty ? default : new KeyRange(keys[0], keys[^1] == ulong.MaxValue ? ulong.MaxValue : keys[^1] + 1), keys);
        RowStore store = table.Store;
        int width = table.Width, n = keys.Length;
        int[] slots = new int[n];
        table.ResolveSlots(keys, slots, create: true);
        for (int i = 0; i < n; i++)
        {
            rows.Slice(i * width, width).CopyTo(store.WeightRows(slots[i], 1));
            for (int s = 0; s < store.StateCount; s++)
                rows.Slice(((s + 1) * n + i) * width, width).CopyTo(store.StateRows(s, slots[i], 1));
        }
    }

    /// <summary>Rows of a range of a dense table: one block copy per array.</summary>
    public static void CopyOut(Table table, KeyRange range, Span<float> rows)
    {
        (long first, int n) = DenseRows(table, range, rows.Length);
        RowStore store = table.Store;
        int block = n * table.Width;
        store.WeightRows(first, n).CopyTo(rows[..block]);
        for (int s = 0; s < store.StateCount; s++)
            store.StateRows(s, first, n).CopyTo(rows.Slice((s + 1) * block, block));
    }

    public static void CopyIn(Table table, KeyRange range, ReadOnlySpan<float> rows)
    {
        (long first, int n) = DenseRows(table, range, rows.Length);
        RowStore store = table.Store;
        int block = n * table.Width;
        rows[..block].CopyTo(store.WeightRows(first, n));
        for (int s = 0; s < store.StateCount; s++)
            rows.Slice((s + 1) * block, block).CopyTo(store.StateRows(s, first, n));
    }

    private static (long First, int Rows) DenseRows(Table table, KeyRange range, int floats)
    {
        if (table is not DenseTable)
            throw new ArgumentException($"table '{table.Name}' is sparse: copy rows by keys, not by range");
        if (!table.OwnedRange.Contains(range))
            throw new ArgumentOutOfRangeException(nameof(range), $"table '{table.Name}': range {range} is outside the range {table.OwnedRange} held here");
        if (range.Size > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(range), $"table '{table.Name}': range {range} is too large to copy at once");
        Check(table, (int)range.Size, floats);
        return ((long)(range.Begin - table.OwnedRange.Begin), (int)range.Size);
    }

    private static void Check(Table table, int rows, int floats)
    {
        if (FloatsFor(table, rows) != floats)
            throw new ArgumentException($"table '{table.Name}': {rows} rows of width {table.Width} with {table.Updater.StateCount} state arrays need {FloatsFor(table, rows)} floats, got {floats}");
    }

    private static void CheckOwned(Table table, KeyRange span, ReadOnlySpan<ulong> keys)
    {
        KeySet.Validate(keys);
        if (!keys.IsEmpty && !table.OwnedRange.Contains(span))
        {
            ulong bad = table.OwnedRange.Contains(keys[0]) ? keys[^1] : keys[0];
            throw new ArgumentOutOfRangeException(nameof(keys), $"table '{table.Name}': key {bad} is outside the range {table.OwnedRange} held here");
        }
    }
}
