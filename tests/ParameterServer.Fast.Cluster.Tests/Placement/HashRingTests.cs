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

    // Servers 10.. in `domains` failure domains of `shards` servers each ("d0", "d1", …).
    private static (int[] Servers, Func<int, string> DomainOf) Sharded(int domains, int shards) =>
        ([.. Enumerable.Range(10, domains * shards)], s => $"d{(s - 10) / shards}");

    [Test]
    public void ServersOfTheirOwnDomainsPlaceAsWithoutDomains([Values(1, 3)] int replicas)
    {
        List<RangeAssignment> plain = new HashRing([1, 2, 3, 4]).Partition(KeyRange.All, replicas);
        List<RangeAssignment> own = new HashRing([1, 2, 3, 4], domainOf: HashRing.OwnDomain).Partition(KeyRange.All, replicas);

        Assert.That(own.Select(p => (p.Range, string.Join(",", p.Chain))), Is.EqualTo(plain.Select(p => (p.Range, string.Join(",", p.Chain)))));
    }

    [Test]
    public void AChainNeverHoldsTwoServersOfOneDomain([Values(1, 2, 3, 4)] int replicas, [Values(1, 2, 3)] int domains, [Values(1, 2, 4)] int shards)
    {
        (int[] servers, Func<int, string> domainOf) = Sharded(domains, shards);
        var ring = new HashRing(servers, virtualNodes: 16, domainOf);

        List<RangeAssignment> parts = ring.Partition(KeyRange.All, replicas);

        Assert.That(ring.Domains, Is.EqualTo(domains));
        foreach (RangeAssignment part in parts)
        {
            Assert.That(part.Chain, Has.Length.EqualTo(Math.Min(replicas, domains)), $"chain of {part.Range}");
            Assert.That(part.Chain.Select(domainOf), Is.Unique, $"chain of {part.Range}: {string.Join(",", part.Chain)}");
        }
        // Every shard holds some of the table as primary, and every one as a backup when there are backups.
        Assert.That(parts.Select(p => p.Primary).Distinct().Count(), Is.EqualTo(servers.Length));
        if (Math.Min(replicas, domains) > 1)
            Assert.That(parts.SelectMany(p => p.Chain.Skip(1)).Distinct().Count(), Is.EqualTo(servers.Length));
    }

    [Test]
    public void ShardsOfADomainOwnContiguousRunsSoRequestsSplitLittleMore([Values(1, 2, 3)] int domains, [Values(2, 4)] int shards)
    {
        (int[] servers, Func<int, string> domainOf) = Sharded(domains, shards);
        int sharded = new HashRing(servers, 16, domainOf).Partition(KeyRange.All, 1).Count;
        int unsharded = new HashRing(Enumerable.Range(1, domains)).Partition(KeyRange.All, 1).Count;

        TestContext.Out.WriteLine($"{domains} domains: {unsharded} parts with one server each, {sharded} with {shards} shards each");
        // One domain: one run per shard, the last run's wrapping around the ring's end (so split in
        // two). More: at most one more part per shard than without shards (shards as servers of
        // their own, with points of their own, gave about shards times as many).
        if (domains == 1)
            Assert.That(sharded, Is.EqualTo(shards + 1));
        else
            Assert.That(sharded, Is.LessThanOrEqualTo(unsharded + (domains * shards)));
    }

    [Test]
    public void ManyShardsOfADomainShareItsKeysRoughlyEvenly([Values(4, 16)] int shards)
    {
        (int[] servers, Func<int, string> domainOf) = Sharded(1, shards);
        var ring = new HashRing(servers, 16, domainOf);
        var range = new KeyRange(0, 1UL << 40);

        var held = ring.Partition(range, 1).GroupBy(p => p.Primary).ToDictionary(g => g.Key, g => g.Sum(p => (double)p.Range.Size));

        double mean = range.Size / (double)shards;
        TestContext.Out.WriteLine($"{shards} shards: share of the mean from {held.Values.Min() / mean:F2} to {held.Values.Max() / mean:F2}");
        Assert.That(held, Has.Count.EqualTo(shards));
        Assert.That(held.Values, Is.All.InRange(0.2 * mean, 3 * mean));
    }

    [Test]
    public void ANewChainMemberComesFromTheNextDomainNotInTheChain()
    {
        (int[] servers, Func<int, string> domainOf) = Sharded(3, 2);
        var ring = new HashRing(servers, 16, domainOf);
        var range = KeyRange.All;

        foreach (RangeAssignment part in ring.Partition(range, replicas: 3))
        {
            // The chain lost its middle member: the new one is in that member's domain (the only one not in the chain).
            int[] survivors = [part.Chain[0], part.Chain[2]];
            int dead = part.Chain[1];
            int next = ring.NextMember(range, part.Range.Begin, survivors, s => s != dead);
            Assert.That(next, Is.Not.EqualTo(-1));
            Assert.That(domainOf(next), Is.EqualTo(domainOf(dead)), $"chain {string.Join(",", part.Chain)}");
            Assert.That(next, Is.Not.EqualTo(dead));
            // With every domain in the chain, there is none to take.
            Assert.That(ring.NextMember(range, part.Range.Begin, part.Chain, _ => true), Is.EqualTo(-1));
            // A whole domain dead: no member from it.
            Assert.That(ring.NextMember(range, part.Range.Begin, survivors, s => domainOf(s) != domainOf(dead)), Is.EqualTo(-1));
        }
    }

    [Test]
    public void ARingNeedsAServerAndAVirtualNode()
    {
        Assert.That(() => new HashRing([]), Throws.ArgumentException);
        Assert.That(() => new HashRing([1], virtualNodes: 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new HashRing([1]).Partition(KeyRange.All, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
