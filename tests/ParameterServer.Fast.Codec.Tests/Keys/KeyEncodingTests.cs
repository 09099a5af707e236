using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Keys;

namespace ParameterServer.Fast.Codec.Tests.Keys;

public class KeyEncodingTests
{
    private static IEnumerable<ulong[]> Lists()
    {
        var rng = new Random(17);
        yield return [0];
        yield return [ulong.MaxValue];
        yield return [0, ulong.MaxValue];
        yield return [ulong.MaxValue - 1, ulong.MaxValue];
        yield return [.. Enumerable.Range(0, 1000).Select(i => (ulong)i)];
        foreach (int n in new[] { 2, 3, 63, 64, 65, 500, 5000 })
        {
            yield return TestData.PowerLawKeys(rng, n);
            yield return TestData.PowerLawKeys(rng, n, scale: 300, alpha: 0.7, start: 1UL << 40);
            yield return TestData.RandomKeys(rng, n);
        }
    }

    [Test]
    public void DeltaVarintRoundTripsAndMeasuresExactly()
    {
        foreach (ulong[] keys in Lists())
        {
            var buffer = new byte[(10 * keys.Length) + 1];
            int n = DeltaVarintKeys.Write(keys, buffer);
            Assert.That(n, Is.EqualTo(DeltaVarintKeys.Measure(keys)));
            var back = new ulong[keys.Length];
            DeltaVarintKeys.Read(buffer.AsSpan(0, n), back);
            Assert.That(back, Is.EqualTo(keys));
            Assert.That(DeltaVarintKeys.Write(keys, buffer.AsSpan(0, n - 1)), Is.EqualTo(-1), "one byte short");
        }
    }

    [Test]
    public void GroupedLz4RoundTrips()
    {
        var scratch = new CodecScratch();
        foreach (ulong[] keys in Lists().Where(k => k.Length >= 2))
        {
            var buffer = new byte[(16 * keys.Length) + 64];
            int n = GroupedKeys.Write(keys, buffer, scratch);
            Assert.That(n, Is.GreaterThan(FrameLayout.GroupedPrefixSize));
            var back = new ulong[keys.Length];
            GroupedKeys.Read(buffer.AsSpan(0, n), back, new CodecScratch());
            Assert.That(back, Is.EqualTo(keys));
        }
    }

    [Test]
    public void RawKeysMustBeSortedAndUnique()
    {
        var bytes = new byte[16];
        BitConverter.TryWriteBytes(bytes, 5UL);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), 5UL);
        var e = Assert.Throws<ProtocolException>(() => RawKeys.Read(bytes, new ulong[2]));
        Assert.That(e!.Message, Does.Contain("key = 5"));
    }

    [Test]
    public void VarintGapsThatOverflowAreRejected()
    {
        var buffer = new byte[32];
        int n = DeltaVarintKeys.Write([ulong.MaxValue - 1], buffer);
        n += DeltaVarintKeys.Write([5], buffer.AsSpan(n)); // gap − 1 = 5 after MaxValue − 1
        var e = Assert.Throws<ProtocolException>(() => DeltaVarintKeys.Read(buffer.AsSpan(0, n), new ulong[2]));
        Assert.That(e!.Field, Is.EqualTo("key gap"));
    }

    [Test]
    public void PowerLawKeysEncodeWithinTwoAndAHalfBytesEach()
    {
        ulong[] keys = TestData.PowerLawKeys(new Random(42), 1 << 20, scale: 8, alpha: 1.1);
        var buffer = new byte[FrameLayout.MaxFrameLength(keys.Length, 0)];
        var writer = FrameWriter.Claim(buffer, new FrameHeader(MessageType.Pull), new CodecScratch());
        writer.WriteKeys(keys);
        int length = writer.Commit();
        double perKey = (double)(length - FrameLayout.HeaderSize) / keys.Length;
        Assert.That(perKey, Is.LessThanOrEqualTo(2.5));
        var decoder = new FrameDecoder();
        var back = new ulong[keys.Length];
        Assert.That(decoder.DecodeKeys(decoder.Read(buffer.AsSpan(0, length)), back, null, out _), Is.EqualTo(KeyResolution.Decoded));
        Assert.That(back.AsSpan().SequenceEqual(keys));
    }

    [Test]
    public void TheWriterPicksTheSmallestEncoding()
    {
        var rng = new Random(8);
        var scratch = new CodecScratch();
        foreach (ulong[] keys in Lists())
        {
            var buffer = new byte[FrameLayout.MaxFrameLength(keys.Length, 0)];
            var writer = FrameWriter.Claim(buffer, new FrameHeader(MessageType.Pull), scratch);
            writer.WriteKeys(keys);
            int length = writer.Commit();
            long keysLength = length - FrameLayout.HeaderSize;
            Assert.That(keysLength, Is.LessThanOrEqualTo(Math.Min(8L * keys.Length, DeltaVarintKeys.Measure(keys))));
        }
        _ = rng;
    }
}
