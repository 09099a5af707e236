using System.Buffers.Binary;
using System.Diagnostics;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Keys;

namespace ParameterServer.Fast.Codec.Tests.Frames;

/// <summary>
/// 1 000 000 random and mutated frames through the whole decoder: each either decodes or raises
/// <see cref="ProtocolException"/>; anything else (an index outside the span, an overflow, an
/// invalid cast) fails the test. Every frame is handed over as an exact-length span, so a read past
/// its end would throw IndexOutOfRange and fail. Deterministic by seed.
/// </summary>
public class FrameFuzzTests
{
    private const int Frames = 1_000_000;

    // Length fields and the values they are set to: extremes, off-by-one and random.
    private static readonly int[] s_lengthFields =
    [
        FrameLayout.KeyCountOffset, FrameLayout.ValueCountOffset, FrameLayout.KeysLengthOffset,
        FrameLayout.ValuesLengthOffset, FrameLayout.ExtrasLengthOffset, FrameLayout.FrameLengthOffset,
    ];

    [Test]
    [CancelAfter(120_000)]
    public void AMillionBadFramesRaiseOnlyProtocolErrors()
    {
        var rng = new Random(20_140_601);
        var scratch = new CodecScratch();
        var seeds = new List<byte[]>();
        var buffer = new byte[1 << 16];
        foreach (MessageType type in Enum.GetValues<MessageType>())
        {
            for (int i = 0; i < 40; i++)
            {
                FrameCase c = RandomFrames.Next(rng, type, maxKeys: 40) with { Crc = i % 4 == 0 };
                seeds.Add(buffer[..c.Write(buffer, scratch)]);
            }
        }

        var decoder = new FrameDecoder(new FrameLimits(1 << 20, 1 << 16, 1 << 16));
        var cache = new KeyCache(1 << 20);
        var keys = new ulong[1 << 16];
        var values = new float[1 << 16];
        var work = new byte[1 << 12];
        long decoded = 0, rejected = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Frames; i++)
        {
            int length = Mutate(rng, seeds[rng.Next(seeds.Count)], work);
            try
            {
                Frame f = decoder.Read(work.AsSpan(0, length));
                decoder.DecodeKeys(f, keys, cache, out _);
                FrameDecoder.DecodeValues(f, values);
                decoded++;
            }
            catch (ProtocolException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"frame {i} ({length} bytes) raised {e.GetType().Name}: {e.Message}\n{Convert.ToHexString(work, 0, Math.Min(length, 256))}");
            }
        }
        TestContext.Out.WriteLine($"{Frames} frames in {clock.Elapsed.TotalSeconds:0.0} s: {decoded} decoded, {rejected} rejected");
        Assert.That(decoded + rejected, Is.EqualTo(Frames));
        Assert.That(rejected, Is.GreaterThan(Frames / 2), "most mutations must be caught");
        Assert.That(decoded, Is.GreaterThan(Frames / 100), "some mutations stay valid, so deep decoding runs too");
    }

    // Copies a seed into work and damages it one of six ways; returns the damaged length.
    private static int Mutate(Random rng, byte[] seed, byte[] work)
    {
        int length = Math.Min(seed.Length, work.Length);
        seed.AsSpan(0, length).CopyTo(work);
        switch (rng.Next(7))
        {
            case 0: // a few bit flips anywhere
                for (int k = rng.Next(1, 9); k > 0; k--)
                    work[rng.Next(length)] ^= (byte)(1 << rng.Next(8));
                break;
            case 1: // truncation
                length = rng.Next(length);
                break;
            case 2: // a length or count set to an extreme
                {
                    int field = s_lengthFields[rng.Next(s_lengthFields.Length)];
                    uint old = BinaryPrimitives.ReadUInt32LittleEndian(work.AsSpan(field));
                    uint v = rng.Next(8) switch
                    {
                        0 => 0, 1 => uint.MaxValue, 2 => int.MaxValue, 3 => 0x8000_0000,
                        4 => old + 1, 5 => old - 1, 6 => (uint)length, _ => (uint)rng.Next(),
                    };
                    BinaryPrimitives.WriteUInt32LittleEndian(work.AsSpan(field), v);
                    break;
                }
            case 3: // flags set at random (known and unknown bits)
                BinaryPrimitives.WriteUInt16LittleEndian(work.AsSpan(FrameLayout.FlagsOffset), (ushort)rng.Next(1 << 10));
                break;
            case 4: // the body overwritten with random bytes (header intact)
                for (int p = FrameLayout.HeaderSize; p < length; p++)
                    work[p] = (byte)rng.Next(256);
                break;
            case 5: // entirely random bytes
                length = rng.Next(0, 200);
                rng.NextBytes(work.AsSpan(0, length));
                if (length >= 8 && rng.Next(2) == 0)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(work, FrameLayout.Magic);
                    work[FrameLayout.VersionOffset] = FrameLayout.Version;
                }
                break;
            default: // a byte of the sections flipped in place, header and lengths consistent
                if (length > FrameLayout.HeaderSize)
                    work[rng.Next(FrameLayout.HeaderSize, length)] = (byte)rng.Next(256);
                break;
        }
        return length;
    }
}
