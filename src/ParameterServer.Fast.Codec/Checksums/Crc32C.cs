using System.Buffers.Binary;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace ParameterServer.Fast.Codec.Checksums;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 and RDMA:
/// "123456789" → 0xE3069283. System.IO.Hashing is a separate package, not in the shared framework,
/// so this is our own: the SSE4.2 / ARMv8 CRC instruction 8 bytes at a time (about 8 GB/s at
/// 3 GHz, one per 3-cycle latency), or slicing-by-8 tables where the instruction is missing.
/// </summary>
public static class Crc32C
{
    private const uint Polynomial = 0x82F63B78;

    // 8 × 256 entries (8 KiB): slicing-by-8 folds 8 bytes per step with 8 independent lookups.
    private static readonly uint[] s_table = BuildTable();

    /// <summary>True when the CPU instruction computes it (else the table does).</summary>
    public static bool IsHardwareAccelerated => Sse42.X64.IsSupported || Crc32.Arm64.IsSupported;

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>
    /// The CRC-32C of (the bytes <paramref name="crc"/> was computed over) followed by
    /// <paramref name="data"/>: lets a frame split into segments be checked without joining them.
    /// </summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data) =>
        ~(IsHardwareAccelerated ? UpdateHardware(~crc, data) : UpdateSoftware(~crc, data));

    /// <summary>The table-driven path, whatever the CPU (tests compare it with the hardware path).</summary>
    public static uint AppendSoftware(uint crc, ReadOnlySpan<byte> data) => ~UpdateSoftware(~crc, data);

    private static uint UpdateHardware(uint state, ReadOnlySpan<byte> data)
    {
        int i = 0;
        if (Sse42.X64.IsSupported)
        {
            ulong s = state;
            for (; i + 8 <= data.Length; i += 8)
                s = Sse42.X64.Crc32(s, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
            state = (uint)s;
            for (; i < data.Length; i++)
                state = Sse42.Crc32(state, data[i]);
        }
        else
        {
            for (; i + 8 <= data.Length; i += 8)
                state = Crc32.Arm64.ComputeCrc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
            for (; i < data.Length; i++)
                state = Crc32.ComputeCrc32C(state, data[i]);
        }
        return state;
    }

    private static uint UpdateSoftware(uint state, ReadOnlySpan<byte> data)
    {
        uint[] t = s_table;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            uint lo = state ^ BinaryPrimitives.ReadUInt32LittleEndian(data[i..]);
            uint hi = BinaryPrimitives.ReadUInt32LittleEndian(data[(i + 4)..]);
            state = t[(7 * 256) + (lo & 0xFF)] ^ t[(6 * 256) + ((lo >> 8) & 0xFF)] ^
                    t[(5 * 256) + ((lo >> 16) & 0xFF)] ^ t[(4 * 256) + (lo >> 24)] ^
                    t[(3 * 256) + (hi & 0xFF)] ^ t[(2 * 256) + ((hi >> 8) & 0xFF)] ^
                    t[256 + ((hi >> 16) & 0xFF)] ^ t[hi >> 24];
        }
        for (; i < data.Length; i++)
            state = t[(state ^ data[i]) & 0xFF] ^ (state >> 8);
        return state;
    }

    private static uint[] BuildTable()
    {
        var t = new uint[8 * 256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            t[n] = c;
        }
        for (int s = 1; s < 8; s++)
        {
            for (int n = 0; n < 256; n++)
                t[(s * 256) + n] = t[((s - 1) * 256) + n] >> 8 ^ t[t[((s - 1) * 256) + n] & 0xFF];
        }
        return t;
    }
}
