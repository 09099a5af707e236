using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Compression;
using ParameterServer.Fast.Codec.Frames;

namespace ParameterServer.Fast.Codec.Values;

/// <summary>
/// The values section: float32 or 16-bit values, little-endian, optionally one LZ4 block that
/// decodes to exactly value count × element size bytes. Hosts are little-endian (x64, Arm64), so
/// raw float32 is the floats' own bytes and can be read in place.
/// </summary>
public static class ValueSection
{
    /// <summary>
    /// Encodes <paramref name="values"/>; returns the bytes written (or -1 when they do not fit) and
    /// the value flags chosen. A non-empty <paramref name="residual"/> (same length) is the error
    /// feedback of quantisation: added before rounding, replaced by what rounding lost.
    /// </summary>
    public static int Write(ReadOnlySpan<float> values, Span<float> residual, in ValueEncoding encoding,
        Span<byte> destination, CodecScratch? scratch, out FrameFlags flags)
    {
        flags = encoding.Quantization switch
        {
            ValueQuantization.Fp16 => FrameFlags.ValuesFp16,
            ValueQuantization.Bf16 => FrameFlags.ValuesBf16,
            _ => FrameFlags.None,
        };
        if (values.IsEmpty)
        {
            flags = FrameFlags.None;
            return 0;
        }
        int rawLength = values.Length * encoding.ElementSize;
        if (!residual.IsEmpty && residual.Length != values.Length)
            throw new ArgumentException($"the residual has {residual.Length} entries for {values.Length} values", nameof(residual));

        // The bytes LZ4 would read: the floats themselves, or quantised into scratch.
        ReadOnlySpan<byte> plain;
        if (encoding.Quantization == ValueQuantization.None)
        {
            plain = MemoryMarshal.AsBytes(values);
        }
        else if (encoding.Lz4 && scratch is not null)
        {
            Span<byte> q = scratch.Bytes(rawLength);
            Quantize(values, residual, encoding.Quantization, q);
            plain = q;
        }
        else
        {
            if (destination.Length < rawLength)
                return -1;
            Quantize(values, residual, encoding.Quantization, destination);
            return rawLength;
        }

        if (encoding.Lz4)
        {
            // Only worth it below (1 − min saving) of the raw size: encode into exactly that budget.
            int budget = (int)Math.Min(destination.Length, Math.Floor(rawLength * (1 - encoding.Lz4MinSaving)));
            int packed = Lz4Block.TryEncode(plain, destination[..Math.Max(0, budget)]);
            if (packed > 0)
            {
                flags |= FrameFlags.ValuesLz4;
                return packed;
            }
        }
        if (destination.Length < rawLength)
            return -1;
        plain.CopyTo(destination);
        return rawLength;
    }

    /// <summary>Decodes a validated section into exactly destination.Length (= value count) floats.</summary>
    public static void Read(ReadOnlySpan<byte> section, FrameFlags flags, Span<float> destination)
    {
        ValueQuantization q = (flags & FrameFlags.ValuesFp16) != 0 ? ValueQuantization.Fp16
            : (flags & FrameFlags.ValuesBf16) != 0 ? ValueQuantization.Bf16 : ValueQuantization.None;
        int elementSize = q == ValueQuantization.None ? 4 : 2;
        int length = destination.Length * elementSize;
        Span<byte> target = MemoryMarshal.AsBytes(destination)[..length];
        if ((flags & FrameFlags.ValuesLz4) != 0)
        {
            if (!Lz4Block.TryDecodeExact(section, target))
                ProtocolException.Throw("values LZ4 block", (ulong)section.Length, $"does not decode to {length} bytes");
            if (q != ValueQuantization.None)
                ExpandInPlace(destination, q);
            return;
        }
        if (section.Length != length)
            ProtocolException.Throw("values length", (ulong)section.Length, $"{destination.Length} values need {length} bytes");
        if (q == ValueQuantization.None)
        {
            section.CopyTo(target);
            return;
        }
        for (int i = 0; i < destination.Length; i++)
            destination[i] = HalfPrecision.Dequantize(BinaryPrimitives.ReadUInt16LittleEndian(section[(2 * i)..]), q);
    }

    private static void Quantize(ReadOnlySpan<float> values, Span<float> residual, ValueQuantization q, Span<byte> destination)
    {
        Span<ushort> halves = MemoryMarshal.Cast<byte, ushort>(destination[..(2 * values.Length)]);
        if (residual.IsEmpty)
        {
            for (int i = 0; i < values.Length; i++)
                halves[i] = HalfPrecision.Quantize(values[i], q);
            return;
        }
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i] + residual[i];
            ushort h = HalfPrecision.Quantize(v, q);
            halves[i] = h;
            float sent = HalfPrecision.Dequantize(h, q);
            // An overflow to ±∞ carries no finite error forward: keep the residual finite.
            residual[i] = float.IsFinite(sent) ? v - sent : 0f;
        }
    }

    // 16-bit values sit in the first half of the destination's bytes; widen from the back so that
    // float i (bytes 4i..4i+3) only overwrites halves already read (index ≥ i).
    private static void ExpandInPlace(Span<float> destination, ValueQuantization q)
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        for (int i = destination.Length - 1; i >= 0; i--)
            destination[i] = HalfPrecision.Dequantize(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]), q);
    }
}
