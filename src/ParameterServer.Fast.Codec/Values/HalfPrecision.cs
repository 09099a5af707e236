using System.Runtime.CompilerServices;

namespace ParameterServer.Fast.Codec.Values;

/// <summary>
/// float32 ↔ fp16 / bf16, round to nearest, ties to even (the IEEE default, so quantisation error
/// has no bias that would accumulate over iterations). NaN stays NaN, ±∞ stays ±∞; fp16 overflows
/// to ±∞ above 65 520.
/// </summary>
public static class HalfPrecision
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ToFp16(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FromFp16(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000)
            return (ushort)((bits >> 16) | 0x40); // NaN: keep sign, force a quiet payload bit
        // Adding 0x7FFF plus the lowest kept bit rounds to nearest with ties to even.
        bits += 0x7FFF + ((bits >> 16) & 1);
        return (ushort)(bits >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FromBf16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Quantize(float value, ValueQuantization q) => q == ValueQuantization.Fp16 ? ToFp16(value) : ToBf16(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dequantize(ushort bits, ValueQuantization q) => q == ValueQuantization.Fp16 ? FromFp16(bits) : FromBf16(bits);
}
