using ParameterServer.Fast.Apps.CountMin;
using ParameterServer.Fast.Apps.Data;

namespace ParameterServer.Fast.Apps.Tests;

public class CountMinLocalTests
{
    [Test]
    public void PreAggregatedCountsBuildExactlyTheSketchOfPlainInserts()
    {
        var stream = new ZipfStream(50_000, 1.1, 4);
        var hash = new SketchHash(4, 4096, 4);
        const int Items = 1_000_000;
        using var plain = new LocalSketch(hash);
        for (long i = 0; i < Items; i++)
            plain.Add(stream.Item(i), 1);
        plain.Drain();

        // All ids aggregated; and only the first 1,000, the rest inserted alone (the overflow path).
        foreach (int capacity in new[] { 50_000, 1000, 0 })
        {
            using var sketch = new LocalSketch(hash);
            using var counts = new ItemCounts(capacity, sketch.KeysPerPass);
            counts.Count(stream, 0, Items / 3, sketch);
            counts.Count(stream, Items / 3, Items, sketch);
            int distinct = counts.FlushInto(stream, sketch);
            Assert.That(sketch.Counters.SequenceEqual(plain.Counters), Is.True, $"capacity {capacity}");
            Assert.That(distinct, Is.LessThanOrEqualTo(capacity));
            Assert.That(counts.FlushInto(stream, sketch), Is.Zero, "a flush leaves the counts empty");
        }
    }

    [Test]
    public void TiledFlushesOfManyPassesAddUp()
    {
        var hash = new SketchHash(3, 100_003, 11);
        using var tiled = new LocalSketch(hash);
        using var plain = new LocalSketch(hash);
        var rng = new Random(3);
        ulong[] keys = [.. Enumerable.Range(0, 3 * tiled.KeysPerPass + 17).Select(_ => (ulong)rng.NextInt64())];
        uint[] amounts = [.. keys.Select(_ => (uint)rng.Next(1, 1000))];
        tiled.AddCounts(keys, amounts);
        for (int k = 0; k < keys.Length; k++)
            plain.Add(keys[k], amounts[k]);
        plain.Drain();
        Assert.That(tiled.Counters.SequenceEqual(plain.Counters), Is.True);
    }

    [Test]
    public void EstimatesExceedTheTruthByAtMostEpsilonNWithProbabilityOneMinusDelta()
    {
        const int Width = 2000, Depth = 5, Items = 1_000_000;
        var stream = new ZipfStream(100_000, 1.1, 5);
        using var sketch = new LocalSketch(new SketchHash(Depth, Width, 5));
        using var counts = new ItemCounts(100_000, sketch.KeysPerPass);
        counts.Count(stream, 0, Items, sketch);
        counts.FlushInto(stream, sketch);
        uint[] exact = CountMinCheck.ExactCounts(stream, Items);
        double epsilon = Math.E / Width, delta = Math.Exp(-Depth), bound = epsilon * Items;
        int seen = 0, violations = 0;
        for (int id = 0; id < exact.Length; id++)
        {
            if (exact[id] == 0)
                continue;
            seen++;
            uint estimate = sketch.Estimate(stream.Key(id));
            Assert.That(estimate, Is.GreaterThanOrEqualTo(exact[id]), "count-min never under-counts");
            violations += estimate - exact[id] > bound ? 1 : 0;
        }
        // Each item exceeds ε·N with probability at most δ = e⁻⁵: of tens of thousands, at most about δ of them.
        Assert.That(seen, Is.GreaterThan(10_000));
        Assert.That(violations, Is.LessThanOrEqualTo(delta * seen), $"{violations} of {seen} over ε·N = {bound:0}");
    }

    [Test]
    public void RowHashesCollideLikeAPairwiseIndependentFamily()
    {
        // Adversarial pairs: neighbours, keys differing only in the high half, and 0 against all-ones.
        (ulong X, ulong Y)[] pairs = [(1, 2), (5, 5 + (1UL << 32)), (0, ulong.MaxValue), (1UL << 63, 1UL << 62)];
        const int Width = 64, Seeds = 20_000;
        foreach ((ulong x, ulong y) in pairs)
        {
            int collisions = 0;
            var columns = new int[Width];
            for (int seed = 0; seed < Seeds; seed++)
            {
                var hash = new SketchHash(1, Width, (ulong)seed);
                collisions += hash.Column(x, 0) == hash.Column(y, 0) ? 1 : 0;
                columns[hash.Column(x, 0)]++;
            }
            double expected = Seeds / (double)Width;
            Assert.That(collisions, Is.EqualTo(expected).Within(5 * Math.Sqrt(expected)), $"pair ({x}, {y})");
            Assert.That(columns.Min(), Is.GreaterThan(expected - (5 * Math.Sqrt(expected))), "every column is reachable evenly");
        }
        const int Wide = 700_000_000;
        var wide = new SketchHash(3, Wide, 1);
        for (ulong key = 0; key < 1000; key++)
        {
            for (int row = 0; row < 3; row++)
                Assert.That(wide.Cell(key, row), Is.InRange((long)row * Wide, ((row + 1L) * Wide) - 1));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new SketchHash(4, 1 << 30, 1), "more counters than an int indexes");
    }

    [Test]
    public void CountersBecomeFloatsForAPush()
    {
        var hash = new SketchHash(2, 1000, 1);
        using var sketch = new LocalSketch(hash);
        sketch.Add(42, 7);
        sketch.Add(43, (1u << 24) + 1);
        var floats = new float[sketch.Length];
        sketch.CopyTo(0, floats);
        for (int i = 0; i < floats.Length; i++)
            Assert.That(floats[i], Is.EqualTo((float)sketch.Counters[i]));
        Assert.That(floats.Sum(f => (double)f), Is.EqualTo(2 * (7 + (double)(1 << 24))).Within(4));
        Assert.That(CountMinCheck.FloatSlack(1 << 25, 10), Is.EqualTo(40), "10 float additions near 2²⁵ may each lose half of a 4-wide ulp");
    }
}
