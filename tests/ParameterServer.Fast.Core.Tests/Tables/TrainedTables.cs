using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Core.Tests.Tables;

/// <summary>Tables trained on random pushes, and their rows read bit for bit from the row store, for the snapshot and row-copy tests.</summary>
internal static class TrainedTables
{
    public static Table Trained(TableKind kind, UpdaterKind updater, int width, Random rng, out TableSpec spec, out KeyRange owned)
    {
        var settings = new UpdaterSettings(LearningRate: 0.05f, L1: 0.01f, L2: 0.001f);
        var initializer = new TableInitializer(InitializerKind.Uniform, 0.1f, (ulong)rng.NextInt64());
        spec = kind == TableKind.Dense
            ? TableSpec.Dense("w", new KeyRange(1000, 1000 + (ulong)rng.Next(2, 900)), width, updater) with { Settings = settings, Initializer = initializer }
            : TableSpec.Sparse("emb", width, updater) with { Settings = settings, Initializer = initializer, MaxRows = 1 << 16 };
        // A server holds part of a table's range: a sub-range of it here.
        owned = kind == TableKind.Dense ? spec.Range.Split(2)[rng.Next(2)] : new KeyRange(1UL << 20, 1UL << 62);
        Table table = Table.Create(spec, owned);
        for (int round = 0; round < 20; round++)
        {
            ulong[] keys = RandomKeys(rng, owned, kind, 200);
            float[] values = [.. Enumerable.Range(0, keys.Length * width).Select(_ => (float)((rng.NextDouble() * 4) - 2))];
            table.Push(keys, values);
        }
        return table;
    }

    public static ulong[] RandomKeys(Random rng, KeyRange owned, TableKind kind, int count)
    {
        // Sparse keys come from a small pool (so rows are updated many times) and the whole range.
        ulong[] keys = [.. Enumerable.Range(0, rng.Next(1, count)).Select(_ =>
            kind == TableKind.Dense || rng.Next(2) == 0
                ? owned.Begin + ((ulong)rng.NextInt64() % Math.Min(owned.Size, 500))
                : owned.Begin + ((ulong)rng.NextInt64() % owned.Size))];
        return keys[..KeySet.SortUnique(keys)];
    }

    // The bits of a row's weights and state values, straight from the row store.
    public static int[][]? RowBits(Table table, ulong key)
    {
        int slot = table is SparseTable sparse ? sparse.Index.Find(key) : (int)(key - table.OwnedRange.Begin);
        if (slot < 0)
            return null;
        var arrays = new int[1 + table.Updater.StateCount][];
        arrays[0] = Bits(table.Store.WeightRows(slot, 1));
        for (int s = 0; s < table.Updater.StateCount; s++)
            arrays[s + 1] = Bits(table.Store.StateRows(s, slot, 1));
        return arrays;
    }

    public static int[] Bits(Span<float> values)
    {
        int[] bits = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
            bits[i] = BitConverter.SingleToInt32Bits(values[i]);
        return bits;
    }
}
