using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Core.Tests.Keys;

public class KeySetTests
{
    [Test]
    public void ValidationNamesTheFirstDuplicateOrDisorder()
    {
        KeySet.Validate([1, 2, 3]);
        KeySet.Validate([]);
        var dup = Assert.Throws<ArgumentException>(() => KeySet.Validate([1, 5, 5, 7]));
        Assert.That(dup!.Message, Does.Contain("index 2").And.Contain("duplicate"));
        var order = Assert.Throws<ArgumentException>(() => KeySet.Validate([1, 9, 4]));
        Assert.That(order!.Message, Does.Contain("index 2").And.Contain("out of order"));
    }

    [Test]
    public void LowerBoundAgreesWithALinearScan()
    {
        var rng = new Random(5);
        for (int trial = 0; trial < 200; trial++)
        {
            ulong[] keys = RandomSortedKeys(rng, rng.Next(0, 100));
            ulong probe = (ulong)rng.Next(0, 1200);
            int expected = keys.Count(k => k < probe);
            Assert.That(KeySet.LowerBound(keys, probe), Is.EqualTo(expected));
        }
    }

    [Test]
    public void SortUniqueSortsAndDropsDuplicates()
    {
        ulong[] keys = [5, 3, 5, 1, 3, ulong.MaxValue, 0];
        int n = KeySet.SortUnique(keys);
        Assert.That(keys[..n], Is.EqualTo(new ulong[] { 0, 1, 3, 5, ulong.MaxValue }));
    }

    [Test]
    public void SlicingByRandomPartitionsCoversEveryKeyOnce()
    {
        var rng = new Random(6);
        for (int trial = 0; trial < 300; trial++)
        {
            ulong[] keys = RandomSortedKeys(rng, rng.Next(0, 300));
            KeyRange[] partition = new KeyRange(0, 1000).Split(rng.Next(1, 9));
            var slices = new KeySlice[partition.Length];
            int outside = KeySlicer.Slice(keys, partition, slices);
            int covered = 0;
            foreach (KeySlice s in slices)
            {
                foreach (ulong k in keys.AsSpan(s.Start, s.Length))
                    Assert.That(s.Range.Contains(k), Is.True);
                covered += s.Length;
            }
            Assert.That(outside, Is.EqualTo(keys.Count(k => k >= 1000)));
            Assert.That(covered + outside, Is.EqualTo(keys.Length));
        }
    }

    [Test]
    public void OverlappingPartitionsAreRejected()
    {
        var slices = new KeySlice[2];
        Assert.Throws<ArgumentException>(() => KeySlicer.Slice([1, 2], [new KeyRange(0, 10), new KeyRange(5, 20)], slices));
    }

    internal static ulong[] RandomSortedKeys(Random rng, int count)
    {
        var keys = new ulong[count];
        for (int i = 0; i < count; i++)
            keys[i] = (ulong)rng.Next(0, 1100);
        return keys[..KeySet.SortUnique(keys)];
    }
}
