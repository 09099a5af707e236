using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Codec.Checksums;

namespace ParameterServer.Fast.Apps.Data;

/// <summary>
/// The compact binary cache of a parsed data set: parsing text once, loading in a single read.
/// <code>
///   offset  0  magic "PSFD" u32 | version u32 | examples u64 | nonzeros u64 | crc32c u32 | 0 u32   (32 bytes)
///   offset 32  offsets i32[examples + 1] | keys u64[nonzeros] | values f32[nonzeros] | labels f32[examples]
/// </code>
/// The CRC32C covers everything after the header; every count is checked against the file size
/// and every offset against its neighbours before use, so a corrupt or truncated file is named,
/// never half-loaded.
/// </summary>
public static class BinaryDataset
{
    public const uint Magic = 0x44465350; // "PSFD"
    public const uint Version = 1;
    private const int HeaderBytes = 32;

    public static bool LooksLikeBinary(string path)
    {
        using FileStream f = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        return f.Read(head) == 4 && BinaryPrimitives.ReadUInt32LittleEndian(head) == Magic;
    }

    public static void Write(SparseDataset data, string path)
    {
        long nnz = data.Keys.Length;
        byte[] body = new byte[(4L * (data.Count + 1)) + (8 * nnz) + (4 * nnz) + (4L * data.Count) is var n && n <= int.MaxValue ? (int)n : throw new ArgumentException("data set too large for one binary file")];
        int at = 0;
        at += Copy(MemoryMarshal.AsBytes(data.Offsets.AsSpan()), body, at);
        at += Copy(MemoryMarshal.AsBytes(data.Keys.AsSpan()), body, at);
        at += Copy(MemoryMarshal.AsBytes(data.Values.AsSpan()), body, at);
        Copy(MemoryMarshal.AsBytes(data.Labels.AsSpan()), body, at);
        var header = new byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), Version);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), (ulong)data.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(16), (ulong)nnz);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), Crc32C.Compute(body));
        string temp = path + ".tmp";
        using (FileStream f = File.Create(temp))
        {
            f.Write(header);
            f.Write(body);
        }
        File.Move(temp, path, overwrite: true);
    }

    public static SparseDataset Read(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        string Bad(string what) => $"binary data file '{path}' is corrupt: {what}";
        if (file.Length < HeaderBytes || BinaryPrimitives.ReadUInt32LittleEndian(file) != Magic)
            throw new DataFormatException(Bad("no PSFD header"));
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(4));
        if (version != Version)
            throw new DataFormatException($"binary data file '{path}' has version {version}; this build reads {Version}");
        ulong examples = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(8));
        ulong nnz = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(16));
        ulong expected = HeaderBytes + (4 * (examples + 1)) + (12 * nnz) + (4 * examples);
        if (examples > int.MaxValue || nnz > int.MaxValue || expected != (ulong)file.Length)
            throw new DataFormatException(Bad($"{examples} examples and {nnz} nonzeros need {expected} bytes, the file has {file.Length}"));
        ReadOnlySpan<byte> body = file.AsSpan(HeaderBytes);
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(24));
        if (Crc32C.Compute(body) != crc)
            throw new DataFormatException(Bad("checksum mismatch"));
        int e = (int)examples, z = (int)nnz, at = 0;
        int[] offsets = MemoryMarshal.Cast<byte, int>(body.Slice(at, 4 * (e + 1))).ToArray();
        at += 4 * (e + 1);
        ulong[] keys = MemoryMarshal.Cast<byte, ulong>(body.Slice(at, 8 * z)).ToArray();
        at += 8 * z;
        float[] values = MemoryMarshal.Cast<byte, float>(body.Slice(at, 4 * z)).ToArray();
        at += 4 * z;
        float[] labels = MemoryMarshal.Cast<byte, float>(body.Slice(at, 4 * e)).ToArray();
        if (offsets[0] != 0 || offsets[e] != z)
            throw new DataFormatException(Bad("offsets do not span the nonzeros"));
        for (int i = 0; i < e; i++)
        {
            if (offsets[i + 1] < offsets[i])
                throw new DataFormatException(Bad($"offsets decrease at example {i}"));
            for (int k = offsets[i] + 1; k < offsets[i + 1]; k++)
            {
                if (keys[k] <= keys[k - 1])
                    throw new DataFormatException(Bad($"keys of example {i} are not increasing"));
            }
        }
        return new SparseDataset(offsets, keys, values, labels);
    }

    private static int Copy(ReadOnlySpan<byte> source, byte[] destination, int at)
    {
        source.CopyTo(destination.AsSpan(at));
        return source.Length;
    }
}
