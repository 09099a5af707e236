using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Keys;
using ParameterServer.Fast.Codec.Values;

namespace ParameterServer.Fast.Codec.Tests.Frames;

/// <summary>The hot path allocates nothing per frame once buffers, scratch and caches are warm.</summary>
public class AllocationTests
{
    [Test]
    public void EncodeAndDecodeAllocateNothingAfterWarmUp()
    {
        var rng = new Random(12);
        ulong[] keys = TestData.PowerLawKeys(rng, 4096, scale: 4);
        float[] values = TestData.Floats(rng, keys.Length, zeroFraction: 0.9);
        var residual = new ErrorFeedback(values.Length);
        var pool = new FrameBufferPool();
        var scratch = new CodecScratch();
        var senderCache = new KeyCache();
        var receiverCache = new KeyCache();
        var decoder = new FrameDecoder();
        var keysOut = new ulong[keys.Length];
        var valuesOut = new float[values.Length];
        ValueEncoding[] encodings = [ValueEncoding.Raw, ValueEncoding.Compressed, new(ValueQuantization.Fp16, Lz4: true), new(ValueQuantization.Bf16)];

        long Round(int count)
        {
            long checksum = 0;
            for (int i = 0; i < count; i++)
            {
                using PinnedBuffer buffer = pool.Rent(FrameLayout.MaxFrameLength(keys.Length, values.Length));
                var w = FrameWriter.Claim(buffer.Span, new FrameHeader(MessageType.Push, 1, 2, (ulong)i, i), scratch);
                // Alternate full lists (grouped / varint) and cache hits.
                w.WriteKeys(keys, (KeyEncodingPolicy)(i % 2), i % 3 == 0 ? null : senderCache);
                ValueEncoding e = encodings[i % encodings.Length];
                w.WriteValues(values, e, e.Quantization == ValueQuantization.None ? default : residual.Residual);
                int length = w.Commit(crc: i % 2 == 0);
                Frame f = decoder.Read(buffer.Span[..length]);
                decoder.DecodeKeys(f, keysOut, receiverCache, out ReadOnlySpan<ulong> k);
                FrameDecoder.DecodeValues(f, valuesOut);
                checksum += (long)k[^1] + length;
            }
            return checksum;
        }

        Round(50);
        long before = GC.GetAllocatedBytesForCurrentThread();
        long sum = Round(500);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(sum, Is.Not.Zero);
        Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over 500 frames");
        Assert.That(receiverCache.Hits, Is.GreaterThan(100));
    }
}
