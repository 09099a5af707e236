using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Core.Tests.Keys;

/// <summary>
/// The slot index's hash is independent of <see cref="KeyHash.Mix"/>: keys an application grouped
/// by Mix (block proximal gradient's feature blocks are its top bits) still spread over the whole
/// index instead of crowding into the buckets of their group.
/// </summary>
public sealed class KeyHashTests
{
    [Test]
    public void KeysSharingTheTopBitsOfMixSpreadEvenlyUnderTheIndexHash()
    {
        const int Groups = 8, Wanted = 40_000;
        var counts = new int[Groups];
        int found = 0;
        for (ulong rank = 0; found < Wanted && rank < 10_000_000; rank++)
        {
            ulong key = KeyHash.Mix((rank << 8) ^ 0xC0FFEE); // a feature key as the click-log generator makes them
            if (KeyHash.Mix(key) >> 61 != 0)
                continue; // only the keys of one block: Mix's top three bits are 0
            counts[(int)(KeyHash.IndexHash(key) >> 61)]++;
            found++;
        }
        Assert.That(found, Is.EqualTo(Wanted));
        foreach (int c in counts)
            Assert.That(c, Is.InRange(Wanted / Groups * 0.9, Wanted / Groups * 1.1), $"index-hash groups of one Mix group: {string.Join(", ", counts)}");
    }

    [Test]
    public void TheIndexHashIsAPermutationDifferentFromMix()
    {
        var seen = new HashSet<ulong>();
        for (ulong k = 0; k < 100_000; k++)
        {
            Assert.That(seen.Add(KeyHash.IndexHash(k)), Is.True, "no two keys share an index hash");
            Assert.That(KeyHash.IndexHash(k), Is.Not.EqualTo(KeyHash.Mix(k)));
        }
    }
}
