using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Tables.Snapshots;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Core.Tests.Tables;

/// <summary>
/// Export then import must give back every row bit for bit, updater state included, whatever the
/// table kind, updater, width or block size; and a restored table must go on training exactly as
/// the original does. Rows are compared through the table's internals, not through the reader.
/// </summary>
public class SnapshotTests
{
    private static readonly UpdaterKind[] s_updaters = Enum.GetValues<UpdaterKind>();

    private static IEnumerable<TestCaseData> Shapes()
    {
        foreach (UpdaterKind updater in s_updaters)
        {
            foreach (TableKind kind in new[] { TableKind.Dense, TableKind.Sparse })
            {
                // An updater that fixes the row width (block proximal: [g, u, round]) is tested at that width.
                foreach (int width in Updater.RowWidthOf(updater) is int fixedWidth ? [fixedWidth] : new[] { 1, 3, 17 })
                    yield return new TestCaseData(kind, updater, width).SetName($"{{m}}({kind}, {updater}, width {width})");
            }
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void ExportThenImportRestoresEveryRowAndState(TableKind kind, UpdaterKind updater, int width)
    {
        for (int seed = 0; seed < 4; seed++)
        {
            var rng = new Random((seed * 7919) + (int)updater + (width * 31));
            using Table original = TrainedTables.Trained(kind, updater, width, rng, out TableSpec spec, out KeyRange owned);
            using Table restored = Table.Create(spec, owned);
            int capacity = seed switch { 0 => 1, 1 => 7, 2 => 64, _ => RowBlock.DefaultFloats / width };
            Copy(original, restored, capacity);
            AssertSameRows(original, restored, $"seed {seed}, {capacity} rows a block");

            // The restored table trains on exactly as the original: Adam's step counts, FTRL's z
            // and n, Adagrad's sums all came back.
            ulong[] keys = TrainedTables.RandomKeys(rng, owned, kind, 300);
            float[] gradients = [.. Enumerable.Range(0, keys.Length * width).Select(_ => (float)((rng.NextDouble() * 2) - 1))];
            original.Push(keys, gradients);
            restored.Push(keys, gradients);
            AssertSameRows(original, restored, $"seed {seed}, after one more push");
        }
    }

    [Test]
    public void ASparseTableExportsEveryKeyOnceWhileItsIndexIsMigrating()
    {
        using var table = (SparseTable)Table.Create(TableSpec.Sparse("grow", 2, UpdaterKind.Adagrad) with { MaxRows = 1 << 20 });
        var rng = new Random(5);
        while (!table.Index.IsMigrating)
        {
            ulong[] keys = [.. Enumerable.Range(0, 97).Select(_ => (ulong)rng.NextInt64())];
            keys = keys[..KeySet.SortUnique(keys)];
            table.Push(keys, [.. Enumerable.Range(0, keys.Length * 2).Select(_ => 1f)]);
        }
        var seen = new HashSet<ulong>();
        var block = RowBlock.For(table, 33);
        TableRowReader reader = table.ExportRows();
        while (reader.Read(block) > 0)
        {
            foreach (ulong key in block.Keys)
                Assert.That(seen.Add(key), Is.True, $"key {key} exported twice");
        }
        Assert.That(seen, Has.Count.EqualTo(table.RowCount));
        Assert.That(reader.RowsRead, Is.EqualTo(reader.RowCount));
    }

    [Test, CancelAfter(60_000)]
    public void AMillionSparseRowsImportInExportOrderInLinearTime()
    {
        // Export order is the order of the slot index, that is of the keys' hashes; inserted so
        // into an index that grows step by step, every key lands in the front of each new index
        // and probe chains grow with the table (minutes for a million rows). ReserveRows sizes
        // the index first; the budget below is 20 times what it takes on the 2-core box.
        const int rows = 1 << 20;
        using Table original = Table.Create(TableSpec.Sparse("big", 1, UpdaterKind.Adagrad) with { MaxRows = rows });
        var rng = new Random(3);
        while (original.RowCount < rows - 20_000)
        {
            ulong[] keys = [.. Enumerable.Range(0, 20_000).Select(_ => (ulong)rng.NextInt64())];
            keys = keys[..KeySet.SortUnique(keys)];
            original.Push(keys, new float[keys.Length]);
        }
        using Table restored = Table.Create(original.Spec);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        restored.ReserveRows(original.RowCount);
        Copy(original, restored, RowBlock.DefaultFloats);
        Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "importing a million rows");
        Assert.That(restored.RowCount, Is.EqualTo(original.RowCount));
        TestContext.Out.WriteLine($"{original.RowCount} rows imported in {stopwatch.Elapsed.TotalSeconds:0.00} s");
    }

    [Test]
    public void ATableThatGainsRowsWhileBeingReadMakesTheReaderThrow()
    {
        using Table table = Table.Create(TableSpec.Sparse("moving"));
        table.Push([1, 2, 3], [1, 1, 1]);
        var block = RowBlock.For(table, 1);
        TableRowReader reader = table.ExportRows();
        Assert.That(reader.Read(block), Is.EqualTo(1));
        table.Push([4], [1]);
        var e = Assert.Throws<InvalidOperationException>(() => reader.Read(block));
        Assert.That(e!.Message, Does.Contain("'moving'").And.Contain("while being read"));
    }

    [Test]
    public void ImportRefusesRowsOfAnotherShapeOrOutsideTheRange()
    {
        using Table table = Table.Create(TableSpec.Dense("d", new KeyRange(10, 20), 2, UpdaterKind.Adam));
        var wrongWidth = new RowBlock(3, 4, 4);
        Assert.Throws<ArgumentException>(() => table.ImportRows(wrongWidth));
        var outside = new RowBlock(2, 4, 2);
        outside.SetCount(2);
        outside.Keys[0] = 15;
        outside.Keys[1] = 20;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => table.ImportRows(outside));
        Assert.That(e!.Message, Does.Contain("key 20"));
        float[] row = new float[2];
        table.Pull([15], row);
        Assert.That(row, Is.EqualTo(new float[2]), "nothing of a refused block is written");
    }

    private static void Copy(Table from, Table to, int capacity)
    {
        var block = new RowBlock(from.Width, from.Updater.StateCount, capacity);
        TableRowReader reader = from.ExportRows();
        while (reader.Read(block) > 0)
            to.ImportRows(block);
        Assert.That(reader.RowsRead, Is.EqualTo(from.RowCount));
    }

    private static void AssertSameRows(Table expected, Table actual, string context)
    {
        Assert.That(actual.RowCount, Is.EqualTo(expected.RowCount), context);
        foreach (ulong key in Keys(expected))
        {
            int[][] want = TrainedTables.RowBits(expected, key)!;
            int[][]? got = TrainedTables.RowBits(actual, key);
            Assert.That(got, Is.Not.Null, $"{context}: key {key} is missing");
            for (int a = 0; a < want.Length; a++)
                Assert.That(got![a], Is.EqualTo(want[a]), $"{context}: key {key}, array {a} (0 = weights, then states)");
        }
    }

    private static IEnumerable<ulong> Keys(Table table)
    {
        if (table is SparseTable sparse)
        {
            var keys = new List<ulong>();
            sparse.ForEachKey((k, _) => keys.Add(k));
            return keys;
        }
        return Enumerable.Range(0, (int)table.RowCount).Select(i => table.OwnedRange.Begin + (ulong)i);
    }
}
