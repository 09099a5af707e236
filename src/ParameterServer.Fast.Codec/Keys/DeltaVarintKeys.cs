using System.Numerics;
using System.Runtime.CompilerServices;
using ParameterServer.Fast.Codec.Frames;

namespace ParameterServer.Fast.Codec.Keys;

/// <summary>
/// Sorted unique keys as varint(first), then varint(gap − 1) per next key (LEB128: 7 bits a byte,
/// high bit = more). Gaps of 1..128 take one byte, up to 16 384 two. The −1 makes adjacent keys
/// zeros; decoding adds it back, so every decoded list is strictly increasing by construction.
/// </summary>
public static class DeltaVarintKeys
{
    // A u64 needs at most 10 LEB128 bytes; the 10th may only carry the top bit.
    private const int MaxVarintBytes = 10;

    /// <summary>The encoded size in bytes.</summary>
    public static long Measure(ReadOnlySpan<ulong> keys)
    {
        if (keys.IsEmpty)
            return 0;
        long total = VarintSize(keys[0]);
        for (int i = 1; i < keys.Length; i++)
            total += VarintSize(keys[i] - keys[i - 1] - 1);
        return total;
    }

    /// <summary>Encodes into <paramref name="destination"/>; the size, or -1 when it does not fit.</summary>
    public static int Write(ReadOnlySpan<ulong> keys, Span<byte> destination)
    {
        if (keys.IsEmpty)
            return 0;
        int p = 0;
        ulong previous = keys[0];
        if (!TryWriteVarint(previous, destination, ref p))
            return -1;
        for (int i = 1; i < keys.Length; i++)
        {
            ulong key = keys[i];
            ulong v = key - previous - 1;
            previous = key;
            if (v < 0x80 && (uint)p < (uint)destination.Length)
                destination[p++] = (byte)v;
            else if (!TryWriteVarint(v, destination, ref p))
                return -1;
        }
        return p;
    }

    /// <summary>Decodes exactly destination.Length keys that must use all of <paramref name="source"/>.</summary>
    public static void Read(ReadOnlySpan<byte> source, Span<ulong> destination)
    {
        int p = 0;
        ulong previous = 0;
        for (int i = 0; i < destination.Length; i++)
        {
            ulong v;
            if ((uint)p < (uint)source.Length && source[p] < 0x80)
                v = source[p++];
            else
                v = ReadVarint(source, ref p, i);
            if (i == 0)
            {
                previous = v;
            }
            else
            {
                if (v >= ulong.MaxValue - previous)
                    ProtocolException.Throw("key gap", v, $"key {i} overflows u64 after {previous}");
                previous += v + 1;
            }
            destination[i] = previous;
        }
        if (p != source.Length)
            ProtocolException.Throw("keys length", (ulong)source.Length, $"{destination.Length} varint keys end at byte {p}");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int VarintSize(ulong v) => 1 + ((63 - BitOperations.LeadingZeroCount(v | 1)) / 7);

    private static bool TryWriteVarint(ulong v, Span<byte> destination, ref int p)
    {
        if (destination.Length - p < VarintSize(v))
            return false;
        while (v >= 0x80)
        {
            destination[p++] = (byte)(v | 0x80);
            v >>= 7;
        }
        destination[p++] = (byte)v;
        return true;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> source, ref int p, int index)
    {
        ulong v = 0;
        for (int shift = 0, n = 0; n < MaxVarintBytes; n++, shift += 7)
        {
            if ((uint)p >= (uint)source.Length)
                ProtocolException.Throw("keys length", (ulong)source.Length, $"the varint of key {index} runs past the section");
            byte b = source[p++];
            if (n == MaxVarintBytes - 1 && b > 1)
                ProtocolException.Throw("key varint", b, $"the 10th byte of key {index} overflows u64");
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return v;
        }
        ProtocolException.Throw("key varint", v, $"key {index} is longer than {MaxVarintBytes} bytes");
        return 0;
    }
}
