using ParameterServer.Fast.Apps.Data;

namespace ParameterServer.Fast.Apps.Tests;

public class ZipfStreamTests
{
    [TestCase(1000, 1.1, 1UL)]
    [TestCase(5000, 0.7, 2UL)]
    [TestCase(100, 2.5, 3UL)]
    [TestCase(3, 1.0, 4UL)]
    public void SampledFrequenciesFollowTheZipfLaw(int vocabulary, double skew, ulong seed)
    {
        var stream = new ZipfStream(vocabulary, skew, seed);
        const int Samples = 2_000_000;
        var counts = new long[vocabulary];
        var ids = new int[4096];
        for (long i = 0; i < Samples; i += ids.Length)
        {
            stream.Ids(i, ids);
            foreach (int id in ids)
                counts[id]++;
        }
        // Pearson's χ² over every id (each expects well over 5 samples here).
        double chi2 = 0;
        for (int r = 0; r < vocabulary; r++)
        {
            double expected = Samples * stream.Probability(r);
            Assert.That(expected, Is.GreaterThan(5), "a valid χ² bin");
            chi2 += (counts[r] - expected) * (counts[r] - expected) / expected;
        }
        Assert.That(chi2, Is.LessThan(ChiSquareCritical(vocabulary - 1)), $"χ² {chi2:0.0} with {vocabulary - 1} degrees of freedom");
    }

    [Test]
    public void ALargeVocabularyKeepsItsHeadAndItsTail()
    {
        // A million ids: the wide tail buckets (and their Euler–Maclaurin masses) are exercised.
        var stream = new ZipfStream(1_000_000, 1.1, 9);
        const int Samples = 10_000_000;
        // Bins: the first 100 ids one by one, then ranges growing by 10% up to the vocabulary.
        var edges = Enumerable.Range(0, 101).ToList();
        while (edges[^1] < 1_000_000)
            edges.Add(Math.Min(1_000_000, (int)(edges[^1] * 1.1)));
        var bin = new int[1_000_000];
        for (int b = 0; b + 1 < edges.Count; b++)
        {
            for (int id = edges[b]; id < edges[b + 1]; id++)
                bin[id] = b;
        }
        var counts = new long[edges.Count - 1];
        var ids = new int[4096];
        for (long i = 0; i < Samples; i += ids.Length)
        {
            stream.Ids(i, ids);
            foreach (int id in ids)
                counts[bin[id]]++;
        }
        double chi2 = 0;
        for (int b = 0; b < counts.Length; b++)
        {
            double p = 0;
            for (int id = edges[b]; id < edges[b + 1]; id++)
                p += stream.Probability(id);
            double expected = Samples * p;
            chi2 += (counts[b] - expected) * (counts[b] - expected) / expected;
        }
        Assert.That(chi2, Is.LessThan(ChiSquareCritical(counts.Length - 1)), $"χ² {chi2:0.0} over {counts.Length} bins");
    }

    [Test]
    public void TheLawSumsToOne()
    {
        foreach ((int v, double s) in new[] { (1, 1.1), (10, 0.5), (1_000_000, 1.1), (1 << 24, 1.3) })
        {
            var stream = new ZipfStream(v, s, 1);
            double sum = 0;
            for (int id = 0; id < v; id++)
                sum += stream.Probability(id);
            Assert.That(sum, Is.EqualTo(1).Within(1e-9), $"vocabulary {v}, skew {s}");
            Assert.That(stream.Buckets, Is.LessThan(Math.Min(v, 10_000) + 1), "the sampler's tables stay small");
        }
    }

    [Test]
    public void TheStreamIsAPureFunctionOfSeedAndIndex()
    {
        var a = new ZipfStream(100_000, 1.1, 7);
        var b = new ZipfStream(100_000, 1.1, 7);
        var c = new ZipfStream(100_000, 1.1, 8);
        var block = new int[1000];
        a.Ids(123_456_789, block);
        int differentFromC = 0;
        for (int k = 0; k < block.Length; k++)
        {
            long i = 123_456_789 + k;
            Assert.That(a.Id(i), Is.EqualTo(block[k]), "the block path draws the same ids");
            Assert.That(b.Id(i), Is.EqualTo(a.Id(i)));
            Assert.That(a.Item(i), Is.EqualTo(a.Key(a.Id(i))));
            Assert.That(a.Id(i), Is.InRange(0, 99_999));
            differentFromC += c.Id(i) != a.Id(i) ? 1 : 0;
        }
        Assert.That(differentFromC, Is.GreaterThan(500), "another seed is another stream");
    }

    [Test]
    public void BlocksOfAnyLengthAndStartAgreeWithSingleDraws()
    {
        var stream = new ZipfStream(777, 1.3, 3);
        foreach (int length in new[] { 0, 1, 7, 8, 9, 63, 64, 65, 200 })
        {
            var block = new int[length];
            stream.Ids(5 + length, block);
            for (int k = 0; k < length; k++)
                Assert.That(block[k], Is.EqualTo(stream.Id(5 + length + k)), $"length {length}, item {k}");
        }
    }

    [Test]
    public void AliasTableDrawsEachOutcomeWithItsWeight()
    {
        double[] weights = [5, 0, 1, 3, 0.5, 10];
        var table = new AliasTable(weights);
        double total = weights.Sum();
        for (int k = 0; k < weights.Length; k++)
            Assert.That(table.Probability(k), Is.EqualTo(weights[k] / total).Within(1e-8));
        var counts = new int[weights.Length];
        const int Draws = 600_000;
        for (ulong i = 0; i < Draws; i++)
            counts[table.Draw(Core.Keys.KeyHash.Mix(i))]++;
        for (int k = 0; k < weights.Length; k++)
        {
            double expected = Draws * weights[k] / total;
            Assert.That(counts[k], Is.EqualTo(expected).Within((5 * Math.Sqrt(expected)) + 1), $"outcome {k}");
        }
        Assert.Throws<ArgumentException>(() => _ = new AliasTable([0, 0]));
        Assert.Throws<ArgumentException>(() => _ = new AliasTable([1, double.NaN]));
    }

    // The χ² quantile at p = 0.9995 (Wilson–Hilferty): a correct sampler fails one seed in 2,000.
    private static double ChiSquareCritical(int degrees)
    {
        const double Z = 3.29;
        double k = degrees;
        return k * Math.Pow(1 - (2 / (9 * k)) + (Z * Math.Sqrt(2 / (9 * k))), 3);
    }
}
