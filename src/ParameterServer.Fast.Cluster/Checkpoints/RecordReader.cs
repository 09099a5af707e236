using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Codec.Checksums;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables.Snapshots;

namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// Reads the records of a checkpoint file (<see cref="CheckpointFormat"/>). Every length is checked
/// against its limit and against the bytes the file still has before anything is read or
/// allocated, and every record's CRC before its payload is used; anything wrong becomes a
/// <see cref="CheckpointCorruptException"/> naming the file, the offset and the problem.
/// </summary>
internal sealed class RecordReader(Stream stream, string path, long length)
{
    private readonly byte[] _small = new byte[CheckpointFormat.MaxSmallPayload];
    private readonly byte[] _header = new byte[CheckpointFormat.RecordHeaderBytes];

    public long Position { get; private set; }

    /// <summary>Bytes of the file not read yet.</summary>
    public long BytesLeft => length - Position;

    /// <summary>CRC-32C of every byte read so far.</summary>
    public uint FileCrc { get; private set; }

    public void ReadMagic()
    {
        ReadOnlySpan<byte> magic = CheckpointFormat.Magic;
        if (length < magic.Length)
            throw Corrupt(0, $"{length} bytes is too short to be a checkpoint file (truncated?)");
        Span<byte> b = _small.AsSpan(0, magic.Length);
        Fill(b, 0);
        if (!b.SequenceEqual(magic))
            throw Corrupt(0, $"not a checkpoint file: it starts with {Convert.ToHexString(b)}, not \"{System.Text.Encoding.ASCII.GetString(magic)}\"");
    }

    /// <summary>Reads a HEAD, TABL or END. record (payloads up to 64 KiB) and checks its CRC.</summary>
    public ReadOnlySpan<byte> ReadSmall(uint tag, string expecting)
    {
        long start = Position;
        int payload = ReadHeader(tag, expecting, CheckpointFormat.MaxSmallPayload);
        Span<byte> data = _small.AsSpan(0, payload);
        Fill(data, start);
        uint crc = Crc32C.Append(Crc32C.Compute(_header), data);
        CheckCrc(crc, start, tag);
        return data;
    }

    /// <summary>
    /// Reads a ROWS record of at most <paramref name="maxRows"/> rows into <paramref name="block"/>,
    /// checks its CRC and that every key lies in <paramref name="owned"/>; returns the row count.
    /// </summary>
    public int ReadRows(RowBlock block, long maxRows, KeyRange owned, string table)
    {
        long start = Position;
        int payload = ReadHeader(CheckpointFormat.RowsTag, $"the rows of table '{table}'", CheckpointFormat.MaxRowsPayload);
        if (payload < sizeof(uint))
            throw Corrupt(start, $"a ROWS record of {payload} bytes has no row count");
        Span<byte> count = _small.AsSpan(0, sizeof(uint));
        Fill(count, start);
        uint crc = Crc32C.Append(Crc32C.Compute(_header), count);
        uint n = BinaryPrimitives.ReadUInt32LittleEndian(count);
        long expected = sizeof(uint) + (n * CheckpointFormat.RowBytes(block.Width, block.StateCount));
        if (n == 0 || n > block.Capacity || n > maxRows)
            throw Corrupt(start, $"table '{table}': a ROWS record of {n} rows, where 1..{Math.Min(block.Capacity, maxRows)} were expected");
        if (payload != expected)
            throw Corrupt(start, $"table '{table}': a ROWS record of {n} rows should have {expected} bytes, it has {payload}");
        block.SetCount((int)n);
        crc = FillChecked(crc, MemoryMarshal.AsBytes(block.Keys), start);
        crc = FillChecked(crc, MemoryMarshal.AsBytes(block.Weights), start);
        for (int s = 0; s < block.StateCount; s++)
            crc = FillChecked(crc, MemoryMarshal.AsBytes(block.State(s)), start);
        CheckCrc(crc, start, CheckpointFormat.RowsTag);
        foreach (ulong key in block.Keys)
        {
            if (!owned.Contains(key))
                throw Corrupt(start, $"table '{table}': key {key} is outside the range {owned} the file says it holds");
        }
        return (int)n;
    }

    /// <summary>Throws unless the whole file has been read.</summary>
    public void ExpectEnd()
    {
        if (Position != length)
            throw Corrupt(Position, $"{length - Position} unexpected bytes after the end record");
    }

    public CheckpointCorruptException Corrupt(long offset, string problem) => new(path, offset, problem);

    private int ReadHeader(uint tag, string expecting, long maxPayload)
    {
        long start = Position;
        if (length - start < CheckpointFormat.RecordHeaderBytes)
            throw Corrupt(start, $"the file ends here, {length - start} bytes short of the record holding {expecting} (truncated)");
        Fill(_header, start);
        uint found = BinaryPrimitives.ReadUInt32LittleEndian(_header);
        long payload = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(4));
        if (found != tag)
            throw Corrupt(start, $"expected a {CheckpointFormat.TagName(tag)} record ({expecting}), found tag {CheckpointFormat.TagName(found)}");
        if (payload > maxPayload)
            throw Corrupt(start, $"the {CheckpointFormat.TagName(tag)} record claims {payload} bytes, more than the {maxPayload} such a record may have");
        long left = length - Position;
        if (payload + CheckpointFormat.RecordCrcBytes > left)
            throw Corrupt(start, $"the {CheckpointFormat.TagName(tag)} record claims {payload} bytes and its checksum, but only {left} bytes follow (truncated, or its length is damaged)");
        return (int)payload;
    }

    private void CheckCrc(uint computed, long start, uint tag)
    {
        Span<byte> b = stackalloc byte[CheckpointFormat.RecordCrcBytes];
        Fill(b, start);
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(b);
        if (stored != computed)
            throw Corrupt(start, $"checksum mismatch in the {CheckpointFormat.TagName(tag)} record: stored 0x{stored:X8}, computed 0x{computed:X8}");
    }

    private uint FillChecked(uint crc, Span<byte> into, long start)
    {
        Fill(into, start);
        return Crc32C.Append(crc, into);
    }

    private void Fill(Span<byte> into, long recordStart)
    {
        try
        {
            stream.ReadExactly(into);
        }
        catch (EndOfStreamException)
        {
            // Lengths were checked against the file's size: it shrank while being read.
            throw Corrupt(recordStart, "the file ended in the middle of this record (truncated while being read?)");
        }
        FileCrc = Crc32C.Append(FileCrc, into);
        Position += into.Length;
    }
}
