using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Keys;
using ParameterServer.Fast.Codec.Values;

namespace ParameterServer.Fast.Codec.Tests.Frames;

/// <summary>One random frame's inputs: what the writer was given, to compare with what decodes.</summary>
internal sealed record FrameCase(
    FrameHeader Header, ulong[] Keys, bool Range, bool Cached, float[] Values, ValueEncoding Encoding,
    KeyEncodingPolicy Policy, bool Crc, bool Attach, byte[] Extras)
{
    public KeySignature Signature => KeySignature.Compute(Keys);

    /// <summary>Encodes into <paramref name="buffer"/>; returns the contiguous frame length.</summary>
    public int Write(Span<byte> buffer, CodecScratch scratch)
    {
        var w = FrameWriter.Claim(buffer, Header, scratch);
        if (Keys.Length > 0)
        {
            if (Range)
                w.WriteKeyRange(Keys[0], Keys[^1] + 1);
            else if (Cached)
                w.WriteCachedKeys(Signature, Keys.Length);
            else
                w.WriteKeys(Keys, Policy);
        }
        if (Values.Length > 0)
        {
            if (Attach)
                w.AttachValues(Values);
            else
                w.WriteValues(Values, Encoding);
        }
        if (Extras.Length > 0)
            w.WriteExtras(Extras);
        if (!Attach || Values.Length == 0)
            return w.Commit(Crc);
        Assert.That(w.CommitSegments(Crc, out FrameSegments segments), Is.EqualTo(FrameStatus.Ok));
        var joined = new byte[segments.Length];
        segments.CopyTo(joined);
        joined.CopyTo(buffer);
        return joined.Length;
    }
}

internal static class RandomFrames
{
    public static FrameCase Next(Random rng, MessageType type, int maxKeys = 300)
    {
        bool keys = type is MessageType.Push or MessageType.Replicate or MessageType.Pull or MessageType.KeyListRequest
            || (type == MessageType.PullResponse && rng.Next(2) == 0);
        bool values = type is MessageType.Push or MessageType.Replicate or MessageType.PullResponse;
        int n = keys ? rng.Next(1, maxKeys) : 0;
        bool range = keys && type != MessageType.KeyListRequest && rng.Next(5) == 0;
        bool cached = type == MessageType.KeyListRequest || (keys && !range && rng.Next(4) == 0);
        ulong[] k = range
            ? [.. Enumerable.Range(0, n).Select(i => 1000UL + (ulong)i)]
            : rng.Next(3) switch
            {
                0 => TestData.RandomKeys(rng, n),
                1 => TestData.PowerLawKeys(rng, n, scale: 1 + rng.Next(1000)),
                _ => TestData.PowerLawKeys(rng, n),
            };
        int width = 1 + rng.Next(3);
        int valueCount = values ? (keys ? k.Length * width : rng.Next(1, maxKeys)) : 0;
        float[] v = TestData.Floats(rng, valueCount, zeroFraction: rng.NextDouble());
        var quant = (ValueQuantization)rng.Next(3);
        var encoding = new ValueEncoding(quant, Lz4: rng.Next(2) == 0, Lz4MinSaving: rng.NextDouble() * 0.5);
        var header = new FrameHeader(type, (uint)rng.Next(), (uint)rng.Next(), (ulong)rng.NextInt64(), rng.NextInt64() - (long.MaxValue / 2), (uint)rng.Next());
        byte[] extras = new byte[rng.Next(3) == 0 ? rng.Next(1, 100) : 0];
        rng.NextBytes(extras);
        return new FrameCase(header, k, range, cached, v, encoding, (KeyEncodingPolicy)rng.Next(3),
            Crc: rng.Next(2) == 0, Attach: values && rng.Next(4) == 0, extras);
    }
}
