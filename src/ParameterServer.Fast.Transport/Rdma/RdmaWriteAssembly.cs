using System.Buffers.Binary;
using ParameterServer.Fast.Codec.Buffers;

namespace ParameterServer.Fast.Transport.Rdma;

/// <summary>
/// Frames out of the RDMA writes that carry them, [u64 total | first bytes] [next bytes] … :
/// a frame in one write is handed out in place (in the region it landed in); a longer one is
/// put together in a pooled pinned buffer. Every length is checked against the announced total
/// (and that against the frame limit) before anything is copied.
/// </summary>
internal sealed class RdmaWriteAssembly(int maxFrameBytes, string peer) : IDisposable
{
    public const int TotalPrefixBytes = 8;

    private PinnedBuffer? _buffer;
    private int _total, _filled;

    /// <summary>Part of a frame has arrived and the rest has not.</summary>
    public bool InFrame => _buffer is not null;

    /// <summary>Takes one write; true with the whole frame once it is complete, valid until <see cref="Delivered"/>.</summary>
    public bool TryTake(ReadOnlySpan<byte> write, out ReadOnlySpan<byte> whole)
    {
        whole = default;
        if (_buffer is null)
        {
            if (write.Length < TotalPrefixBytes)
                throw Broken($"a first write of {write.Length} bytes, too short for its length");
            ulong total = BinaryPrimitives.ReadUInt64LittleEndian(write);
            if (total > (ulong)maxFrameBytes)
                throw Broken($"a frame of {total} bytes; the limit is {maxFrameBytes}");
            ReadOnlySpan<byte> part = write[TotalPrefixBytes..];
            if ((ulong)part.Length == total)
            {
                whole = part;
                return true;
            }
            if ((ulong)part.Length > total)
                throw Broken($"a first write longer than its frame of {total} bytes");
            _total = (int)total;
            _filled = 0;
            _buffer = FrameBufferPool.Shared.Rent(_total);
            write = part;
        }
        if (write.Length > _total - _filled)
            throw Broken($"writes longer than the announced {_total} bytes");
        write.CopyTo(_buffer.Span[_filled..]);
        _filled += write.Length;
        if (_filled < _total)
            return false;
        whole = _buffer.Span[.._total];
        return true;
    }

    /// <summary>The frame of the last successful <see cref="TryTake"/> has been handled.</summary>
    public void Delivered()
    {
        if (_buffer is not null && _filled == _total)
        {
            _buffer.Dispose();
            _buffer = null;
        }
    }

    private InvalidDataException Broken(string what) => new($"{peer} broke the RDMA framing: {what}");

    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
    }
}
