using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Core.Tests.Tables;

public class DenseTableTests
{
    [Test]
    public void RangePushesAccumulateAndPullsReadBack()
    {
        using var table = (DenseTable)Table.Create(TableSpec.Dense("w", new KeyRange(100, 200), width: 2));
        var values = Enumerable.Range(0, 40).Select(i => (float)i).ToArray();
        table.PushRange(new KeyRange(110, 130), values);
        table.PushRange(new KeyRange(110, 130), values);
        var pulled = new float[40];
        table.PullRange(new KeyRange(110, 130), pulled);
        Assert.That(pulled, Is.EqualTo(values.Select(v => v * 2)));
        Assert.That(table.Weights[..20].ToArray(), Is.All.EqualTo(0f));
    }

    [Test]
    public void KeyPushesLandOnTheirRows()
    {
        using var table = Table.Create(TableSpec.Dense("w", new KeyRange(0, 1000)));
        table.Push([3, 500, 999], [1f, 2f, 3f]);
        var pulled = new float[4];
        table.Pull([2, 3, 500, 999], pulled);
        Assert.That(pulled, Is.EqualTo(new float[] { 0, 1, 2, 3 }));
    }

    [Test]
    public void TheOwnedSliceOfATableHoldsOnlyItsKeys()
    {
        using var table = Table.Create(TableSpec.Dense("w", new KeyRange(0, 1000)), owned: new KeyRange(500, 2000));
        Assert.That(table.OwnedRange, Is.EqualTo(new KeyRange(500, 1000)));
        Assert.That(table.RowCount, Is.EqualTo(500));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => table.Push([10], [1f]));
        Assert.That(e!.Message, Does.Contain("key 10").And.Contain("[500, 1000)"));
    }

    [Test]
    public void BadRequestsNameWhatIsWrong()
    {
        using var table = (DenseTable)Table.Create(TableSpec.Dense("layer1", new KeyRange(0, 10), width: 3));
        Assert.That(Assert.Throws<ArgumentException>(() => table.Push([1, 2], new float[5]))!.Message, Does.Contain("layer1").And.Contain("need 6 values"));
        Assert.That(Assert.Throws<ArgumentException>(() => table.Push([2, 1], new float[6]))!.Message, Does.Contain("out of order"));
        Assert.That(Assert.Throws<ArgumentException>(() => table.Push([1, 1], new float[6]))!.Message, Does.Contain("duplicate"));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.PushRange(new KeyRange(5, 11), new float[18]));
        Assert.Throws<ArgumentException>(() => table.PullRange(new KeyRange(0, 2), new float[5]));
    }

    [Test]
    public void InitialValuesAreDeterministicPerKey()
    {
        var spec = TableSpec.Dense("w", new KeyRange(0, 64), width: 4) with { Initializer = new TableInitializer(InitializerKind.Normal, 0.1f, Seed: 9) };
        using var a = (DenseTable)Table.Create(spec);
        using var b = (DenseTable)Table.Create(spec, owned: new KeyRange(32, 64));
        Assert.That(a.Weights.ToArray()[(32 * 4)..], Is.EqualTo(b.Weights.ToArray()));
        float[] w = a.Weights.ToArray();
        double mean = w.Average(), sd = Math.Sqrt(w.Select(x => (x - mean) * (x - mean)).Average());
        Assert.That(mean, Is.EqualTo(0).Within(0.03));
        Assert.That(sd, Is.EqualTo(0.1).Within(0.03));
        Assert.That(w.Distinct().Count(), Is.EqualTo(w.Length));
    }

    [Test]
    public void EveryUpdaterRunsOnADenseTable()
    {
        foreach (UpdaterKind kind in Enum.GetValues<UpdaterKind>())
        {
            int width = Updater.RowWidthOf(kind) ?? 1;
            using var table = (DenseTable)Table.Create(TableSpec.Dense("w", new KeyRange(0, 100), width, kind));
            table.PushRange(table.OwnedRange, Enumerable.Repeat(1f, 100 * width).ToArray());
            Assert.That(table.Weights.ToArray(), Is.All.Not.EqualTo(0f), kind.ToString());
        }
    }
}
