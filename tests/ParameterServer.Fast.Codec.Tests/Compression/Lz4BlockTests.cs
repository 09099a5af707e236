using K4os.Compression.LZ4;
using ParameterServer.Fast.Codec.Compression;

namespace ParameterServer.Fast.Codec.Tests.Compression;

/// <summary>Differential: our bounded wrapper against K4os used directly, over data of every compressibility.</summary>
public class Lz4BlockTests
{
    private static IEnumerable<byte[]> Inputs()
    {
        var rng = new Random(5);
        foreach (int length in new[] { 1, 2, 15, 16, 64, 255, 4096, 65_536, 300_000 })
        {
            var random = new byte[length];
            rng.NextBytes(random);
            yield return random;
            var runs = new byte[length];
            for (int i = 0; i < length; i++)
                runs[i] = (byte)(i / 97 % 3);
            yield return runs;
            var sparse = new byte[length];
            for (int i = 0; i < length; i += 1 + rng.Next(40))
                sparse[i] = (byte)rng.Next(256);
            yield return sparse;
        }
    }

    [Test]
    public void RoundTripsAndMatchesTheReferenceCodec()
    {
        foreach (byte[] input in Inputs())
        {
            var reference = new byte[LZ4Codec.MaximumOutputSize(input.Length)];
            int refLength = LZ4Codec.Encode(input, reference, LZ4Level.L00_FAST);
            var ours = new byte[reference.Length];
            int length = Lz4Block.TryEncode(input, ours);
            Assert.That(length, Is.EqualTo(refLength), $"{input.Length} bytes");
            Assert.That(ours.AsSpan(0, length).SequenceEqual(reference.AsSpan(0, refLength)));

            var back = new byte[input.Length];
            Assert.That(Lz4Block.TryDecodeExact(ours.AsSpan(0, length), back), Is.True);
            Assert.That(back, Is.EqualTo(input));
            var viaReference = new byte[input.Length];
            Assert.That(LZ4Codec.Decode(reference.AsSpan(0, refLength), viaReference), Is.EqualTo(input.Length));
            Assert.That(viaReference, Is.EqualTo(back));
        }
    }

    [Test]
    public void EncodingWithinABudgetFailsInsteadOfOverrunning()
    {
        var random = new byte[4096];
        new Random(1).NextBytes(random);
        var target = new byte[4096 + 64];
        Assert.That(Lz4Block.TryEncode(random, target.AsSpan(0, 3500)), Is.EqualTo(-1));
        Assert.That(target.AsSpan(3500).IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "nothing written past the budget");
    }

    [Test]
    public void DecodingRejectsWrongSizesAndDamagedBlocks()
    {
        var input = new byte[10_000];
        for (int i = 0; i < input.Length; i++)
            input[i] = (byte)(i % 7);
        var block = new byte[LZ4Codec.MaximumOutputSize(input.Length)];
        int n = Lz4Block.TryEncode(input, block);
        Assert.That(Lz4Block.TryDecodeExact(block.AsSpan(0, n), new byte[input.Length - 1]), Is.False);
        Assert.That(Lz4Block.TryDecodeExact(block.AsSpan(0, n), new byte[input.Length + 1]), Is.False);
        Assert.That(Lz4Block.TryDecodeExact(block.AsSpan(0, n / 2), new byte[input.Length]), Is.False);
        Assert.That(Lz4Block.TryDecodeExact(block.AsSpan(0, 1), new byte[1_000_000]), Is.False, "declared size beyond 255× is refused");
        Assert.That(Lz4Block.TryDecodeExact([], []), Is.True);
    }
}
