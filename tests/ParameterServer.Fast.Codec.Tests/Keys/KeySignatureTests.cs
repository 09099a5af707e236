using ParameterServer.Fast.Codec.Keys;

namespace ParameterServer.Fast.Codec.Tests.Keys;

public class KeySignatureTests
{
    [Test]
    public void EqualListsShareASignatureAndAnyChangeAltersIt()
    {
        ulong[] keys = TestData.PowerLawKeys(new Random(1), 1001);
        KeySignature s = KeySignature.Compute(keys);
        Assert.That(KeySignature.Compute([.. keys]), Is.EqualTo(s));
        var seen = new HashSet<KeySignature> { s };
        for (int i = 0; i < keys.Length; i += 7)
        {
            ulong[] changed = [.. keys];
            changed[i] ^= 1UL << (i % 64);
            Assert.That(seen.Add(KeySignature.Compute(changed)), Is.True, $"flip at {i}");
        }
        Assert.That(seen.Add(KeySignature.Compute(keys.AsSpan(0, 1000))), Is.True, "a prefix");
        Assert.That(seen.Add(KeySignature.Compute([])), Is.True, "empty");
        Assert.That(seen.Add(KeySignature.Compute([0])), Is.True, "one zero key");
        Assert.That(seen.Add(KeySignature.Compute([0, 0])), Is.True, "two zero keys");
    }

    [Test]
    public void HalvesLookIndependentOverManySmallLists()
    {
        // 200 000 lists of 1..8 consecutive keys: no collision in either 64-bit half.
        var low = new HashSet<ulong>();
        var high = new HashSet<ulong>();
        for (ulong start = 0; start < 25_000; start++)
        {
            for (int n = 1; n <= 8; n++)
            {
                ulong[] keys = [.. Enumerable.Range(0, n).Select(i => start + (ulong)i)];
                KeySignature s = KeySignature.Compute(keys);
                Assert.That(low.Add(s.Low) && high.Add(s.High), Is.True, $"start {start}, {n} keys");
            }
        }
    }

    [Test]
    public void WireFormIsSixteenLittleEndianBytes()
    {
        var s = new KeySignature(0x0102030405060708, 0x1112131415161718);
        var bytes = new byte[16];
        s.WriteTo(bytes);
        Assert.That(bytes[0], Is.EqualTo(0x08));
        Assert.That(bytes[15], Is.EqualTo(0x11));
        Assert.That(KeySignature.ReadFrom(bytes), Is.EqualTo(s));
    }
}
