using ParameterServer.Fast.Core.Kernels;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Core.Tests.Kernels;

[Category("Kernels")]
public class BucketDrawKernelTests
{
    [Test]
    public void BlockDrawsMatchSingleDrawsAtEveryLengthAndStart()
    {
        BucketDrawKernel kernel = RandomKernel(new Random(1), buckets: 300);
        foreach (int n in KernelLengths.All().Where(n => n <= 4099))
        {
            foreach (long start in new long[] { 0, 1, 7, 1L << 40 })
            {
                var outcomes = new int[n + 2];
                outcomes[0] = outcomes[^1] = 12345;
                kernel.Draw(start, 11, 22, outcomes.AsSpan(1, n));
                for (int k = 0; k < n; k++)
                {
                    ulong index = (ulong)(start + k);
                    Assert.That(outcomes[k + 1], Is.EqualTo(kernel.Draw(KeyHash.Mix(index ^ 11), KeyHash.Mix(index ^ 22))), $"length {n}, start {start}, draw {k}");
                }
                Assert.That(outcomes[0], Is.EqualTo(12345), "nothing written before the span");
                Assert.That(outcomes[^1], Is.EqualTo(12345), "nothing written after the span");
            }
        }
    }

    [Test]
    public void DrawsFollowTheBucketMassesAndStayInsideTheirBucket()
    {
        // Three buckets: masses 1 : 2 : 5 through the alias table (column 2 lends to 0 and 1).
        uint half = 1u << 31;
        var kernel = new BucketDrawKernel(
            thresholds: [(uint)(3.0 / 8 * 4294967296.0), (uint)(6.0 / 8 * 4294967296.0), uint.MaxValue],
            aliases: [2, 2, 2], first: [0, 10, 100], size: [1, 5, 50], squeeze: [uint.MaxValue, uint.MaxValue, half]);
        var counts = new int[3];
        int rejected = 0;
        var outcomes = new int[1 << 16];
        for (int round = 0; round < 16; round++)
        {
            kernel.Draw(round * (long)outcomes.Length, 5, 6, outcomes);
            foreach (int o in outcomes)
            {
                if (o < 0)
                    rejected++;
                else
                    counts[o < 10 ? 0 : o < 100 ? 1 : 2]++;
                Assert.That(o is -1 or 0 or (>= 10 and < 15) or (>= 100 and < 150), Is.True, $"outcome {o}");
            }
        }
        double total = 16.0 * outcomes.Length;
        // Bucket 2 has mass 5/8 and a squeeze of one half: half of its draws come back as −1.
        Assert.That(rejected / total, Is.EqualTo(5.0 / 16).Within(0.01));
        Assert.That(counts[0] / total, Is.EqualTo(1.0 / 8).Within(0.01));
        Assert.That(counts[1] / total, Is.EqualTo(2.0 / 8).Within(0.01));
    }

    [Test]
    public void TablesThatWouldReadOutOfBoundsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => _ = new BucketDrawKernel([1], [1], [0], [1], [1]), "alias beyond the buckets");
        Assert.Throws<ArgumentException>(() => _ = new BucketDrawKernel([1, 1], [0], [0, 1], [1, 1], [1, 1]), "lengths differ");
        Assert.Throws<ArgumentException>(() => _ = new BucketDrawKernel([], [], [], [], []), "no buckets");
        Assert.Throws<ArgumentException>(() => _ = new BucketDrawKernel([1], [0], [0], [0], [1]), "an empty bucket");
        Assert.Throws<ArgumentException>(() => _ = new BucketDrawKernel([1], [0], [int.MaxValue], [1], [1]), "outcomes beyond int");
    }

    private static BucketDrawKernel RandomKernel(Random rng, int buckets)
    {
        uint[] thresholds = [.. Enumerable.Range(0, buckets).Select(_ => (uint)rng.NextInt64(0, 1L << 32))];
        uint[] aliases = [.. Enumerable.Range(0, buckets).Select(_ => (uint)rng.Next(buckets))];
        uint[] size = [.. Enumerable.Range(0, buckets).Select(b => (uint)(1 + (b * 7)))];
        var first = new uint[buckets];
        for (int b = 1; b < buckets; b++)
            first[b] = first[b - 1] + size[b - 1];
        // A squeeze of 90% so the −1 path shows up in every block of 8.
        uint[] squeeze = [.. Enumerable.Range(0, buckets).Select(_ => (uint)(0.9 * uint.MaxValue))];
        return new BucketDrawKernel(thresholds, aliases, first, size, squeeze);
    }
}
