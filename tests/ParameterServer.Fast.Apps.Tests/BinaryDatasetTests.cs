using ParameterServer.Fast.Apps.Data;

namespace ParameterServer.Fast.Apps.Tests;

public class BinaryDatasetTests
{
    private string _path = "";

    [SetUp]
    public void CreatePath() => _path = Path.Combine(Path.GetTempPath(), $"psf-{Guid.NewGuid():N}.psfd");

    [TearDown]
    public void DeletePath() => File.Delete(_path);

    [Test]
    public void RoundTripsExactly()
    {
        SparseDataset data = new ClickLogGenerator { Examples = 3000, Seed = 2 }.Generate();
        BinaryDataset.Write(data, _path);
        Assert.That(BinaryDataset.LooksLikeBinary(_path), Is.True);
        SparseDataset back = BinaryDataset.Read(_path);
        Assert.That(back.Offsets, Is.EqualTo(data.Offsets));
        Assert.That(back.Keys, Is.EqualTo(data.Keys));
        Assert.That(back.Values, Is.EqualTo(data.Values));
        Assert.That(back.Labels, Is.EqualTo(data.Labels));
    }

    [Test]
    public void EveryFlippedBitOrTruncationIsDetectedAndNamed()
    {
        SparseDataset data = new ClickLogGenerator { Examples = 200, Seed = 4 }.Generate();
        BinaryDataset.Write(data, _path);
        byte[] good = File.ReadAllBytes(_path);
        var rng = new Random(5);
        for (int trial = 0; trial < 300; trial++)
        {
            byte[] bad = (byte[])good.Clone();
            if (trial % 3 == 0)
                bad = bad[..rng.Next(bad.Length)];
            else
                bad[rng.Next(bad.Length)] ^= (byte)(1 << rng.Next(8));
            File.WriteAllBytes(_path, bad);
            var e = Assert.Throws<DataFormatException>(() => BinaryDataset.Read(_path), $"trial {trial}");
            Assert.That(e!.Message, Does.Contain(_path));
        }
    }

    [Test]
    public void AFileDataSourceHoldsOutItsTail()
    {
        SparseDataset data = new ClickLogGenerator { Examples = 1000, Seed = 6 }.Generate();
        BinaryDataset.Write(data, _path);
        (SparseDataset train, SparseDataset test) = new FileData(_path, TestFraction: 0.2).Load();
        Assert.That(train.Count, Is.EqualTo(800));
        Assert.That(test.Count, Is.EqualTo(200));
        Assert.That(test.KeysOf(0).ToArray(), Is.EqualTo(data.KeysOf(800).ToArray()));
    }
}
