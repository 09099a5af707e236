using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Tests.Placement;

public sealed class HashRingTests
{
    private static IEnumerable<KeyRange> Ranges() =>
    [
        new KeyRange(0, 1),
        new KeyRange(5, 8),
        new KeyRange(0, 100),
        new KeyRange(1_000_000, 1_000_037),
        new KeyRange(0, 1 << 24),
        new KeyRange(ulong.MaxValue - 1000, ulong.MaxValue),
        new KeyRange(1UL << 63, ulong.MaxValue),
        KeyRange.All,
    ];

    [Test]
    public void APartitionTilesTheTableRangeWithNoGapOrOverlap(
        [ValueSource(nameof(Ranges))] KeyRange range, [Values(1, 3, 7)] int servers, [Values(1, 16)] int virtualNodes)
    {
        var ring = new HashRing(Enumerable.Range(1, servers), virtualNodes);

        List<RangeAssignment> parts = ring.Partition(range, replicas: 1);

        Assert.That(parts, Is.Not.Empty);
        Assert.That(parts[0].Range.Begin, Is.EqualTo(range.Begin));
        Assert.That(parts[^1].Range.End, Is.EqualTo(range.End));
        for (int i = 0; i < parts.Count; i++)
        {
            Assert.That(parts[i].Range.IsEmpty, Is.False, $"part {i} {parts[i].Range}");
            if (i > 0)
            {
                Assert.That(parts[i].Range.Begin, Is.EqualTo(parts[i - 1].Range.End), $"part {i} continues part {i - 1}");
                Assert.That(parts[i].Chain, Is.Not.EqualTo(parts[i - 1].Chain), $"parts {i - 1} and {i} have one chain and are not merged");
            }
        }
    }

    [Test]
    public void AHugeRangeIsSpreadOverEveryServer([Values(2, 5)] int servers)
    {
        var ring = new HashRing(Enumerable.Range(1, servers));

        List<RangeAssignment> parts = ring.Partition(KeyRange.All, replicas: 1);

        Assert.That(parts.Select(p => p.Primary).Distinct().Count(), Is.EqualTo(servers));
    }

    [Test]
    public void ChainsHoldDistinctServersOfTheRequestedLength([Values(1, 2, 3, 5)] int replicas, [Values(1, 3, 5)] int servers)
    {
        var ring = new HashRing(Enumerable.Range(10, servers), virtualNodes: 8);

        List<RangeAssignment> parts = ring.Partition(KeyRange.All, replicas);

        foreach (RangeAssignment part in parts)
        {
            Assert.That(part.Chain, Has.Length.EqualTo(Math.Min(replicas, servers)), $"chain of {part.Range}");
            Assert.That(part.Chain, Is.Unique, $"chain of {part.Range}");
            Assert.That(part.Chain, Is.All.InRange(10, 10 + servers - 1));
        }
    }

    [Test]
    public void TheSameServersGiveTheSamePartitionInAnyOrder()
    {
        List<RangeAssignment> a = new HashRing([1, 2, 3, 4]).Partition(KeyRange.All, 2);
        List<RangeAssignment> b = new HashRing([4, 2, 1, 3]).Partition(KeyRange.All, 2);

        Assert.That(b.Select(p => (p.Range, string.Join(",", p.Chain))), Is.EqualTo(a.Select(p => (p.Range, string.Join(",", p.Chain)))));
    }

    [Test]
    public void AddingAFifthServerMovesOnlyAMinorityOfKeys()
    {
        // A dense table of 2^30 keys: the fraction of its keys whose primary changes from 4 to 5
        // servers. Ideally 1/5 of them (the new server's share) move and nothing else does.
        var range = new KeyRange(0, 1UL << 30);
        List<RangeAssignment> before = new HashRing([1, 2, 3, 4]).Partition(range, 1);
        List<RangeAssignment> after = new HashRing([1, 2, 3, 4, 5]).Partition(range, 1);

        ulong moved = 0, toNewServer = 0;
        int i = 0, j = 0;
        ulong at = range.Begin;
        while (at < range.End)
        {
            while (before[i].Range.End <= at)
                i++;
            while (after[j].Range.End <= at)
                j++;
            ulong end = Math.Min(before[i].Range.End, after[j].Range.End);
            if (before[i].Primary != after[j].Primary)
            {
                moved += end - at;
                if (after[j].Primary == 5)
                    toNewServer += end - at;
            }
            at = end;
        }

        double fraction = moved / (double)range.Size;
        TestContext.Out.WriteLine($"moved {fraction:P1} of the keys going from 4 to 5 servers");
        Assert.That(toNewServer, Is.EqualTo(moved), "keys move only to the new server, never between old ones");
        Assert.That(fraction, Is.GreaterThan(0.05).And.LessThanOrEqualTo(0.25 + 0.1));
    }

    [Test]
    public void ARingNeedsAServerAndAVirtualNode()
    {
        Assert.That(() => new HashRing([]), Throws.ArgumentException);
        Assert.That(() => new HashRing([1], virtualNodes: 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new HashRing([1]).Partition(KeyRange.All, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
