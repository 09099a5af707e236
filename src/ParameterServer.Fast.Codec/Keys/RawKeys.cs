using System.Runtime.InteropServices;
using ParameterServer.Fast.Codec.Frames;

namespace ParameterServer.Fast.Codec.Keys;

/// <summary>Raw keys: little-endian u64, 8 bytes each (the fallback when nothing is smaller).</summary>
public static class RawKeys
{
    public static int Write(ReadOnlySpan<ulong> keys, Span<byte> destination)
    {
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(keys);
        if (bytes.Length > destination.Length)
            return -1;
        if (!BitConverter.IsLittleEndian)
            return WriteBigEndianHost(keys, destination);
        bytes.CopyTo(destination);
        return bytes.Length;
    }

    /// <summary>Decodes exactly destination.Length keys and checks they are sorted and unique.</summary>
    public static void Read(ReadOnlySpan<byte> source, Span<ulong> destination)
    {
        if (source.Length != 8L * destination.Length)
            ProtocolException.Throw("keys length", (ulong)source.Length, $"raw keys need 8 × key count ({destination.Length}) bytes");
        if (BitConverter.IsLittleEndian)
            source.CopyTo(MemoryMarshal.AsBytes(destination));
        else
            for (int i = 0; i < destination.Length; i++)
                destination[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(source[(8 * i)..]);
        for (int i = 1; i < destination.Length; i++)
        {
            if (destination[i] <= destination[i - 1])
                ProtocolException.Throw("key", destination[i], $"raw key at index {i} is not above the previous key {destination[i - 1]}");
        }
    }

    private static int WriteBigEndianHost(ReadOnlySpan<ulong> keys, Span<byte> destination)
    {
        for (int i = 0; i < keys.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(destination[(8 * i)..], keys[i]);
        return 8 * keys.Length;
    }
}
