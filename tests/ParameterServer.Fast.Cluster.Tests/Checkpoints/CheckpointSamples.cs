using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Tables.Snapshots;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Cluster.Tests.Checkpoints;

/// <summary>Tables with random contents for checkpoint tests, and an exact comparison of two tables.</summary>
internal static class CheckpointSamples
{
    /// <summary>A table of the given shape trained on random pushes, so weights and every state value are non-trivial.</summary>
    public static Table Trained(Random rng, TableKind kind, UpdaterKind updater, int width, int rounds = 10, int keysPerRound = 100)
    {
        var settings = new UpdaterSettings(LearningRate: 0.05f, L1: 0.01f, L2: 0.001f);
        var initializer = new TableInitializer(InitializerKind.Normal, 0.1f, (ulong)rng.NextInt64());
        TableSpec spec = kind == TableKind.Dense
            ? TableSpec.Dense($"dense-{updater}-{width}", new KeyRange(0, (ulong)rng.Next(2, 600)), width, updater) with { Settings = settings, Initializer = initializer }
            : TableSpec.Sparse($"sparse-{updater}-{width}", width, updater) with { Settings = settings, Initializer = initializer, MaxRows = 1 << 14 };
        // The part a server holds: half the dense range, or a slice of the key space.
        KeyRange owned = kind == TableKind.Dense ? spec.Range.Split(2)[rng.Next(2)] : new KeyRange(1000, 1UL << 40);
        Table table = Table.Create(spec, owned);
        for (int r = 0; r < rounds; r++)
        {
            ulong[] keys = [.. Enumerable.Range(0, rng.Next(1, keysPerRound)).Select(_ =>
                owned.Begin + ((ulong)rng.NextInt64() % (kind == TableKind.Dense || rng.Next(2) == 0 ? Math.Min(owned.Size, 300) : owned.Size)))];
            keys = keys[..KeySet.SortUnique(keys)];
            table.Push(keys, [.. Enumerable.Range(0, keys.Length * width).Select(_ => (float)((rng.NextDouble() * 4) - 2))]);
        }
        return table;
    }

    /// <summary>Every row of a table as key → the bits of its weights and state values.</summary>
    public static Dictionary<ulong, int[]> Rows(Table table)
    {
        var rows = new Dictionary<ulong, int[]>();
        var block = RowBlock.For(table);
        TableRowReader reader = table.ExportRows();
        while (reader.Read(block) > 0)
        {
            int w = block.Width;
            for (int i = 0; i < block.Count; i++)
            {
                var bits = new List<int>();
                for (int a = -1; a < block.StateCount; a++)
                {
                    Span<float> array = a < 0 ? block.Weights : block.State(a);
                    foreach (float f in array.Slice(i * w, w))
                        bits.Add(BitConverter.SingleToInt32Bits(f));
                }
                Assert.That(rows.TryAdd(block.Keys[i], [.. bits]), Is.True, $"key {block.Keys[i]} exported twice");
            }
        }
        return rows;
    }

    public static void AssertSame(Table expected, Table actual)
    {
        Assert.That(actual.Spec, Is.EqualTo(expected.Spec));
        Assert.That(actual.OwnedRange, Is.EqualTo(expected.OwnedRange));
        Assert.That(actual.RowCount, Is.EqualTo(expected.RowCount), expected.Name);
        Dictionary<ulong, int[]> want = Rows(expected), got = Rows(actual);
        Assert.That(got.Keys.Order(), Is.EqualTo(want.Keys.Order()), expected.Name);
        foreach ((ulong key, int[] bits) in want)
            Assert.That(got[key], Is.EqualTo(bits), $"{expected.Name}: key {key}");
    }

    public static string TempFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"psf-ckpt-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
