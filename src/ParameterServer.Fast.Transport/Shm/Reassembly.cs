using System.Buffers.Binary;
using ParameterServer.Fast.Codec.Buffers;

namespace ParameterServer.Fast.Transport.Shm;

/// <summary>
/// Puts a chunked frame (FRAME_FIRST [u64 total | bytes], FRAME_NEXT …, FRAME_LAST) back together in a pooled
/// pinned buffer, checking every length against the announced total before it copies.
/// </summary>
internal sealed class Reassembly(int maxFrameBytes, string peer) : IDisposable
{
    private PinnedBuffer? _buffer;
    private int _total;
    private int _filled;

    /// <summary>Takes one chunk record; after the last one, true with the whole frame, valid until <see cref="Delivered"/>.</summary>
    public bool TryTake(ReadOnlySpan<byte> record, int type, out ReadOnlySpan<byte> whole)
    {
        whole = default;
        if (type is not (ShmRecords.FrameFirst or ShmRecords.FrameNext or ShmRecords.FrameLast))
            throw Broken($"a record of unknown type 0x{type:x}");
        if (type == ShmRecords.FrameFirst)
        {
            if (_buffer is not null)
                throw Broken("a new chunked frame before the last one ended");
            if (record.Length < ShmRecords.TotalPrefixBytes)
                throw Broken($"a first chunk of {record.Length} bytes, too short for its length");
            ulong total = BinaryPrimitives.ReadUInt64LittleEndian(record);
            if (total > (ulong)maxFrameBytes)
                throw Broken($"a frame of {total} bytes; the limit is {maxFrameBytes}");
            _total = (int)total;
            _filled = 0;
            _buffer = FrameBufferPool.Shared.Rent(_total);
            Append(record[ShmRecords.TotalPrefixBytes..]);
            return false;
        }
        if (_buffer is null)
            throw Broken("a chunk without a first one");
        Append(record);
        if (type == ShmRecords.FrameNext)
            return false;
        if (_filled != _total)
            throw Broken($"a chunked frame ended after {_filled} of its {_total} bytes");
        whole = _buffer.Span[.._total];
        return true;
    }

    /// <summary>The handler is done with the frame of the last successful <see cref="TryTake"/>.</summary>
    public void Delivered()
    {
        if (_buffer is not null && _filled == _total)
        {
            _buffer.Dispose();
            _buffer = null;
        }
    }

    private void Append(ReadOnlySpan<byte> part)
    {
        if (part.Length > _total - _filled)
            throw Broken($"chunks longer than the announced {_total} bytes");
        part.CopyTo(_buffer!.Span[_filled..]);
        _filled += part.Length;
    }

    private InvalidDataException Broken(string what) => new($"{peer} broke the shm record protocol: {what}");

    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
    }
}
