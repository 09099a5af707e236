using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Values;

namespace ParameterServer.Fast.Codec.Tests.Values;

public class ValueCodecTests
{
    // bf16 by exact arithmetic: the nearest multiple of the bf16 step, ties to even mantissa.
    private static float ReferenceBf16(float v)
    {
        uint bits = BitConverter.SingleToUInt32Bits(v);
        uint lower = bits & 0xFFFF0000, upper = lower + 0x10000;
        uint rest = bits & 0xFFFF;
        uint chosen = rest < 0x8000 ? lower : rest > 0x8000 ? upper : ((lower >> 16) & 1) == 0 ? lower : upper;
        return BitConverter.UInt32BitsToSingle(chosen);
    }

    [Test]
    public void Bf16RoundsToNearestEven()
    {
        var rng = new Random(6);
        for (int i = 0; i < 200_000; i++)
        {
            float v = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 0x7F7F_FFFF)) * (i % 2 == 0 ? 1 : -1);
            Assert.That(HalfPrecision.FromBf16(HalfPrecision.ToBf16(v)), Is.EqualTo(ReferenceBf16(v)), $"{v:R}");
        }
        Assert.That(HalfPrecision.FromBf16(HalfPrecision.ToBf16(BitConverter.UInt32BitsToSingle(0x3F808000))),
            Is.EqualTo(BitConverter.UInt32BitsToSingle(0x3F800000)), "a tie goes to the even mantissa");
        Assert.That(HalfPrecision.FromBf16(HalfPrecision.ToBf16(BitConverter.UInt32BitsToSingle(0x3F818000))),
            Is.EqualTo(BitConverter.UInt32BitsToSingle(0x3F820000)));
        Assert.That(float.IsNaN(HalfPrecision.FromBf16(HalfPrecision.ToBf16(float.NaN))));
        Assert.That(HalfPrecision.FromBf16(HalfPrecision.ToBf16(float.PositiveInfinity)), Is.EqualTo(float.PositiveInfinity));
    }

    [Test]
    public void Fp16RoundsToNearestEven()
    {
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: even mantissa is 1.
        Assert.That(HalfPrecision.FromFp16(HalfPrecision.ToFp16(1f + MathF.Pow(2, -11))), Is.EqualTo(1f));
        Assert.That(HalfPrecision.FromFp16(HalfPrecision.ToFp16(1f + (3 * MathF.Pow(2, -11)))), Is.EqualTo(1f + MathF.Pow(2, -9)));
        Assert.That(HalfPrecision.FromFp16(HalfPrecision.ToFp16(70_000f)), Is.EqualTo(float.PositiveInfinity));
    }

    [Test]
    public void ErrorFeedbackLosesNothingOverIterations()
    {
        // A gradient far below one fp16 step of the values around it still arrives in total.
        const int n = 64, iterations = 1000;
        var feedback = new ErrorFeedback(n);
        var values = new float[n];
        var sent = new double[n];
        var decoded = new float[n];
        var buffer = new byte[4096];
        for (int it = 0; it < iterations; it++)
        {
            for (int i = 0; i < n; i++)
                values[i] = 1000f + (1e-3f * (i + 1));
            int length = ValueSection.Write(values, feedback.Residual, new ValueEncoding(ValueQuantization.Fp16), buffer, null, out FrameFlags flags);
            ValueSection.Read(buffer.AsSpan(0, length), flags, decoded);
            for (int i = 0; i < n; i++)
                sent[i] += decoded[i];
        }
        for (int i = 0; i < n; i++)
        {
            double truth = iterations * (double)(1000f + (1e-3f * (i + 1)));
            Assert.That(Math.Abs(sent[i] - truth), Is.LessThanOrEqualTo(0.5 + 1e-3), $"entry {i}: lost {truth - sent[i]}");
        }
    }

    [Test]
    public void Lz4IsUsedOnlyWhenItSavesEnough()
    {
        var scratch = new CodecScratch();
        var buffer = new byte[1 << 20];
        float[] sparse = TestData.Floats(new Random(2), 100_000, zeroFraction: 0.9);
        int n = ValueSection.Write(sparse, default, ValueEncoding.Compressed, buffer, scratch, out FrameFlags flags);
        Assert.That(flags, Is.EqualTo(FrameFlags.ValuesLz4));
        Assert.That(n, Is.LessThan(400_000 * 0.875));
        float[] dense = TestData.Floats(new Random(3), 100_000);
        n = ValueSection.Write(dense, default, ValueEncoding.Compressed, buffer, scratch, out flags);
        Assert.That(flags, Is.EqualTo(FrameFlags.None), "random floats do not compress by 1/8");
        Assert.That(n, Is.EqualTo(400_000));
        n = ValueSection.Write(sparse, default, new ValueEncoding(Lz4: true, Lz4MinSaving: 0.99), buffer, scratch, out flags);
        Assert.That(flags, Is.EqualTo(FrameFlags.None), "a 99% saving is not reachable");
        Assert.That(n, Is.EqualTo(400_000));
    }
}
