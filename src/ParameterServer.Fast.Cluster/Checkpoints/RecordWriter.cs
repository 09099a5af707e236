using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Codec.Checksums;
using ParameterServer.Fast.Core.Tables.Snapshots;

namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// Writes records (see <see cref="CheckpointFormat"/>) to a stream, keeping the CRC-32C of
/// everything written so far: the file's checksum for the manifest costs no second read.
/// </summary>
internal sealed class RecordWriter(Stream stream)
{
    private readonly byte[] _small = new byte[CheckpointFormat.RecordHeaderBytes + sizeof(uint)];

    /// <summary>CRC-32C of every byte written.</summary>
    public uint FileCrc { get; private set; }

    public long Position { get; private set; }

    public void WriteMagic() => Emit(CheckpointFormat.Magic);

    public void Write(uint tag, ReadOnlySpan<byte> payload)
    {
        uint crc = Header(tag, payload.Length);
        crc = Crc32C.Append(crc, payload);
        Emit(payload);
        Trailer(crc);
    }

    /// <summary>A ROWS record straight from the block's arrays (viewed as bytes, no copy).</summary>
    public void WriteRows(RowBlock block)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("checkpoint files are little-endian; this machine is not");
        long length = sizeof(uint) + (block.Count * CheckpointFormat.RowBytes(block.Width, block.StateCount));
        uint crc = Header(CheckpointFormat.RowsTag, checked((int)length));
        Span<byte> count = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(count, (uint)block.Count);
        crc = Piece(crc, count);
        crc = Piece(crc, MemoryMarshal.AsBytes(block.Keys));
        crc = Piece(crc, MemoryMarshal.AsBytes(block.Weights));
        for (int s = 0; s < block.StateCount; s++)
            crc = Piece(crc, MemoryMarshal.AsBytes(block.State(s)));
        Trailer(crc);
    }

    private uint Header(uint tag, int length)
    {
        Span<byte> h = _small.AsSpan(0, CheckpointFormat.RecordHeaderBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(h, tag);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)length);
        Emit(h);
        return Crc32C.Compute(h);
    }

    private uint Piece(uint crc, ReadOnlySpan<byte> bytes)
    {
        Emit(bytes);
        return Crc32C.Append(crc, bytes);
    }

    private void Trailer(uint crc)
    {
        Span<byte> t = _small.AsSpan(0, CheckpointFormat.RecordCrcBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(t, crc);
        Emit(t);
    }

    private void Emit(ReadOnlySpan<byte> bytes)
    {
        stream.Write(bytes);
        FileCrc = Crc32C.Append(FileCrc, bytes);
        Position += bytes.Length;
    }
}
