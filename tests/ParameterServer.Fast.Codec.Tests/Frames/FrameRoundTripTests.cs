using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Keys;
using ParameterServer.Fast.Codec.Values;

namespace ParameterServer.Fast.Codec.Tests.Frames;

public class FrameRoundTripTests
{
    [Test]
    public void RandomFramesOfEveryTypeRoundTrip()
    {
        var rng = new Random(2024);
        var scratch = new CodecScratch();
        var decoder = new FrameDecoder();
        var buffer = new byte[1 << 16];
        var seenFlags = new HashSet<FrameFlags>();
        foreach (MessageType type in Enum.GetValues<MessageType>())
        {
            for (int i = 0; i < 300; i++)
            {
                FrameCase c = RandomFrames.Next(rng, type);
                int length = c.Write(buffer, scratch);
                Assert.That(length, Is.GreaterThanOrEqualTo(FrameLayout.HeaderSize), $"{type} #{i}");
                Frame f = decoder.Read(buffer.AsSpan(0, length));
                seenFlags.Add(f.Flags & ~FrameFlags.Crc32CPresent);
                Check(c, f, decoder);
            }
        }
        // Every key mode and every value encoding, with and without LZ4, turned up.
        foreach (FrameFlags flag in new[] { FrameFlags.KeysCached, FrameFlags.KeysDeltaVarint, FrameFlags.KeysGroupedLz4,
                     FrameFlags.KeyRange, FrameFlags.ValuesLz4, FrameFlags.ValuesFp16, FrameFlags.ValuesBf16 })
            Assert.That(seenFlags.Any(f => f.HasFlag(flag)), Is.True, flag.ToString());
        Assert.That(seenFlags.Any(f => f.HasFlag(FrameFlags.ValuesFp16 | FrameFlags.ValuesLz4)), Is.True);
        Assert.That(seenFlags.Any(f => f.HasFlag(FrameFlags.ValuesBf16 | FrameFlags.ValuesLz4)), Is.True);
    }

    private static void Check(FrameCase c, Frame f, FrameDecoder decoder)
    {
        Assert.That(f.Header, Is.EqualTo(c.Header));
        Assert.That(f.Extras.SequenceEqual(c.Extras));
        Assert.That(f.KeyCount, Is.EqualTo(c.Keys.Length));
        Assert.That(f.ValueCount, Is.EqualTo(c.Values.Length));
        Assert.That(f.Flags.HasFlag(FrameFlags.Crc32CPresent), Is.EqualTo(c.Crc));
        var keys = new ulong[c.Keys.Length];
        KeyCache? cache = null;
        if (c.Cached)
        {
            cache = new KeyCache();
            cache.Remember(c.Keys);
        }
        KeyResolution r = decoder.DecodeKeys(f, keys, cache, out ReadOnlySpan<ulong> decoded);
        if (c.Keys.Length == 0)
            Assert.That(r, Is.EqualTo(KeyResolution.None));
        else
            Assert.That(decoded.SequenceEqual(c.Keys), Is.True, $"{r}");
        var values = new float[c.Values.Length];
        FrameDecoder.DecodeValues(f, values);
        for (int i = 0; i < values.Length; i++)
            Assert.That(values[i], Is.EqualTo(Expected(c.Values[i], c.Attach ? ValueQuantization.None : c.Encoding.Quantization)), $"value {i}");
        if (c.Attach || (c.Encoding.Quantization == ValueQuantization.None && !f.Flags.HasFlag(FrameFlags.ValuesLz4)))
        {
            Assert.That(f.TryGetRawValues(out ReadOnlySpan<float> inPlace), Is.True);
            Assert.That(inPlace.SequenceEqual(c.Values));
        }
    }

    private static float Expected(float v, ValueQuantization q) =>
        q == ValueQuantization.None ? v : HalfPrecision.Dequantize(HalfPrecision.Quantize(v, q), q);

    [Test]
    public void HeaderFieldsSitAtTheirDocumentedOffsets()
    {
        var buffer = new byte[256];
        var w = FrameWriter.Claim(buffer, new FrameHeader(MessageType.Pull, TableId: 7, SenderId: 9, RequestId: 11, Clock: -3, Argument: 5));
        w.WriteKeys([10, 20]);
        int n = w.Commit(crc: true);
        Assert.That(BitConverter.ToUInt32(buffer, FrameLayout.MagicOffset), Is.EqualTo(FrameLayout.Magic));
        Assert.That(buffer[FrameLayout.VersionOffset], Is.EqualTo(1));
        Assert.That(buffer[FrameLayout.TypeOffset], Is.EqualTo((byte)MessageType.Pull));
        Assert.That(BitConverter.ToUInt32(buffer, FrameLayout.TableIdOffset), Is.EqualTo(7));
        Assert.That(BitConverter.ToUInt32(buffer, FrameLayout.SenderIdOffset), Is.EqualTo(9));
        Assert.That(BitConverter.ToUInt64(buffer, FrameLayout.RequestIdOffset), Is.EqualTo(11));
        Assert.That(BitConverter.ToInt64(buffer, FrameLayout.ClockOffset), Is.EqualTo(-3));
        Assert.That(BitConverter.ToUInt32(buffer, FrameLayout.KeyCountOffset), Is.EqualTo(2));
        Assert.That(BitConverter.ToUInt32(buffer, FrameLayout.ArgumentOffset), Is.EqualTo(5));
        Assert.That(BitConverter.ToInt32(buffer, FrameLayout.FrameLengthOffset), Is.EqualTo(n));
        Assert.That(BitConverter.ToUInt32(buffer, FrameLayout.CrcOffset), Is.Not.Zero);
        Assert.That(FrameReader.PeekLength(buffer, FrameLimits.Default), Is.EqualTo(n));
    }

    [Test]
    public void ScatterGatherSegmentsLeaveValuesInPlace()
    {
        float[] values = TestData.Floats(new Random(1), 10_000);
        var buffer = new byte[4096];
        var w = FrameWriter.Claim(buffer, new FrameHeader(MessageType.Push, 1));
        w.WriteKeyRange(0, 10_000);
        w.AttachValues(values);
        w.WriteExtras("note"u8);
        Assert.That(w.CommitSegments(crc: true, out FrameSegments s), Is.EqualTo(FrameStatus.Ok));
        Assert.That(s.Head.Length, Is.EqualTo(FrameLayout.HeaderSize + FrameLayout.RangeSize));
        Assert.That(s.Values.Length, Is.EqualTo(40_000));
        Assert.That(s.Tail.SequenceEqual("note"u8));
        var joined = new byte[s.Length];
        s.CopyTo(joined);
        Frame f = FrameReader.Read(joined, FrameLimits.Default);
        Assert.That(f.TryGetRawValues(out ReadOnlySpan<float> v) && v.SequenceEqual(values));
        Assert.That(f.Extras.SequenceEqual("note"u8));
    }

    [Test]
    public void ABufferTooSmallIsAStatusNotAnException()
    {
        float[] values = new float[1000];
        var w = FrameWriter.Claim(new byte[1000], new FrameHeader(MessageType.Push));
        w.WriteKeys([1, 2, 3, 4]);
        w.WriteValues(values, ValueEncoding.Raw);
        Assert.That(w.Status, Is.EqualTo(FrameStatus.BufferTooSmall));
        Assert.That(w.Commit(), Is.EqualTo((int)FrameStatus.BufferTooSmall));
        var tiny = FrameWriter.Claim(new byte[10], new FrameHeader(MessageType.Heartbeat));
        Assert.That(tiny.Commit(), Is.EqualTo((int)FrameStatus.BufferTooSmall));
    }

    [Test]
    public void MisuseIsReportedToTheCaller()
    {
        Assert.Throws<InvalidOperationException>(() =>
        {
            var w = FrameWriter.Claim(new byte[256], new FrameHeader(MessageType.Push));
            w.WriteValues([1f], ValueEncoding.Raw);
            w.WriteKeys([1]);
        });
        Assert.Throws<ArgumentException>(() =>
        {
            var w = FrameWriter.Claim(new byte[256], new FrameHeader(MessageType.Push));
            w.WriteKeys([3, 2]);
        });
    }

    [Test]
    public void PooledBuffersArePinnedAndReused()
    {
        var pool = new FrameBufferPool();
        PinnedBuffer a = pool.Rent(5000);
        Assert.That(a.Capacity, Is.EqualTo(8192));
        Assert.That(GC.GetGeneration(a.Array), Is.EqualTo(GC.MaxGeneration), "the pinned object heap counts as the oldest generation");
        a.Dispose();
        using PinnedBuffer b = pool.Rent(8192);
        Assert.That(b, Is.SameAs(a));
        Assert.That(pool.Rent(1).Capacity, Is.EqualTo(4096));
    }
}
