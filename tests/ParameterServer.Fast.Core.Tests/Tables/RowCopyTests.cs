using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Core.Tests.Tables;

/// <summary>
/// Rows of chosen keys copied out of a trained table and into another (what a replica receives)
/// must arrive bit for bit, updater state included, for every updater, kind and width; rows the
/// source lacks read as new rows; a replica that then takes the same push stays identical.
/// </summary>
public class RowCopyTests
{
    private static IEnumerable<TestCaseData> Shapes() => ShapesOf(TableKind.Dense, TableKind.Sparse);

    private static IEnumerable<TestCaseData> DenseShapes() => ShapesOf(TableKind.Dense);

    private static IEnumerable<TestCaseData> ShapesOf(params TableKind[] kinds)
    {
        foreach (UpdaterKind updater in Enum.GetValues<UpdaterKind>())
        {
            foreach (TableKind kind in kinds)
            {
                foreach (int width in Updater.RowWidthOf(updater) is int fixedWidth ? [fixedWidth] : new[] { 1, 5 })
                    yield return new TestCaseData(kind, updater, width).SetName($"{{m}}({kind}, {updater}, width {width})");
            }
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void RowsCopiedByKeyArriveBitForBitAndTrainOnIdentically(TableKind kind, UpdaterKind updater, int width)
    {
        var rng = new Random(((int)updater * 13) + width + (int)kind);
        using Table source = TrainedTables.Trained(kind, updater, width, rng, out TableSpec spec, out KeyRange owned);
        using Table replica = Table.Create(spec, owned);
        ulong[] keys = TrainedTables.RandomKeys(rng, owned, kind, 400);
        float[] rows = new float[source.RowFloats(keys.Length)];
        Assert.That(rows, Has.Length.EqualTo(keys.Length * width * (1 + source.Updater.StateCount)));

        source.CopyRowsOut(keys, rows);
        replica.CopyRowsIn(keys, rows);

        // Keys the source lacks are compared after the push below, which creates them there.
        foreach (ulong key in keys.Where(k => TrainedTables.RowBits(source, k) is not null))
            AssertSameRow(source, replica, key, "after the copy");
        float[] gradients = [.. Enumerable.Range(0, keys.Length * width).Select(_ => (float)((rng.NextDouble() * 2) - 1))];
        source.Push(keys, gradients);
        replica.Push(keys, gradients);
        foreach (ulong key in keys)
            AssertSameRow(source, replica, key, "after one more push");
    }

    [TestCaseSource(nameof(DenseShapes))]
    public void ADenseRangeCopiesAsBlocks(TableKind kind, UpdaterKind updater, int width)
    {
        var rng = new Random(((int)updater * 17) + width);
        using Table source = TrainedTables.Trained(kind, updater, width, rng, out TableSpec spec, out KeyRange owned);
        using Table replica = Table.Create(spec, owned);
        ulong begin = owned.Begin + ((ulong)rng.NextInt64() % owned.Size);
        var range = new KeyRange(begin, begin + 1 + ((ulong)rng.NextInt64() % (owned.End - begin)));
        float[] rows = new float[source.RowFloats((long)range.Size)];

        source.CopyRowsOut(range, rows);
        replica.CopyRowsIn(range, rows);

        for (ulong key = range.Begin; key < range.End; key++)
            AssertSameRow(source, replica, key, $"range {range}");
        using Table fresh = Table.Create(spec, owned);
        foreach (ulong outside in new[] { owned.Begin, owned.End - 1 }.Where(k => !range.Contains(k)))
            AssertSameRow(fresh, replica, outside, "a row outside the range is not written");
    }

    [Test]
    public void KeysTheSourceLacksReadAsNewRows()
    {
        TableSpec spec = TableSpec.Sparse("adam", 2, UpdaterKind.Adam) with { Initializer = new TableInitializer(InitializerKind.Uniform, 0.5f, 9) };
        using Table source = Table.Create(spec);
        source.Push([10], [1, 1]);
        float[] rows = new float[source.RowFloats(2)];
        source.CopyRowsOut([10, 20], rows);
        using Table fresh = Table.Create(spec);
        float[] initial = new float[2];
        fresh.Pull([20], initial);
        // Layout: weights of both rows, then each state array of both rows.
        Assert.That(rows.AsSpan(2, 2).ToArray(), Is.EqualTo(initial), "key 20's weights are its initial value");
        for (int s = 0; s < source.Updater.StateCount; s++)
            Assert.That(rows.AsSpan((((s + 1) * 2) + 1) * 2, 2).ToArray(), Is.EqualTo(new float[2]), $"key 20's state {s} is zero");
        Assert.That(source.RowCount, Is.EqualTo(1), "reading does not add the row");
    }

    [Test]
    public void WrongShapesAndKeysAreRefusedBeforeAnythingIsWritten()
    {
        using Table dense = Table.Create(TableSpec.Dense("d", new KeyRange(10, 20), 2, UpdaterKind.Adam));
        using Table sparse = Table.Create(TableSpec.Sparse("s", 2, UpdaterKind.Sum), new KeyRange(100, 200));
        Assert.Multiple(() =>
        {
            Assert.That(() => dense.CopyRowsIn([11, 12], new float[5]), Throws.ArgumentException.With.Message.Contains("'d'"));
            Assert.That(() => dense.CopyRowsIn(new KeyRange(15, 21), new float[dense.RowFloats(6)]), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => sparse.CopyRowsOut(new KeyRange(100, 101), new float[2]), Throws.ArgumentException.With.Message.Contains("sparse"));
            Assert.That(() => sparse.CopyRowsIn([150, 250], new float[4]), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("250"));
            Assert.That(() => sparse.CopyRowsIn([160, 150], new float[4]), Throws.ArgumentException);
        });
        Assert.That(sparse.RowCount, Is.Zero, "no row of a refused copy is added");
    }

    private static void AssertSameRow(Table expected, Table actual, ulong key, string context)
    {
        int[][]? want = TrainedTables.RowBits(expected, key);
        int[][]? got = TrainedTables.RowBits(actual, key);
        Assert.That(got, Is.Not.Null, $"{context}: key {key} is missing");
        Assert.That(want, Is.Not.Null, $"{context}: key {key} is missing in the source");
        for (int a = 0; a < want!.Length; a++)
            Assert.That(got![a], Is.EqualTo(want[a]), $"{context}: key {key}, array {a} (0 = weights, then states)");
    }
}
