using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Checksums;
using ParameterServer.Fast.Codec.Keys;
using ParameterServer.Fast.Codec.Values;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// Writes one frame into a caller's buffer (pinned, from <see cref="FrameBufferPool"/>): claim → write
/// sections in wire order (keys, values, extras; each optional) → commit. Nothing is allocated.
/// <code>
/// using PinnedBuffer buffer = pool.Rent(FrameLayout.MaxFrameLength(keys.Length, values.Length));
/// var writer = FrameWriter.Claim(buffer.Span, new FrameHeader(MessageType.Push, table, me, id, clock), scratch);
/// writer.WriteKeys(keys, KeyEncodingPolicy.Smallest, peerKeyCache);   // 16 bytes when the peer has the list
/// writer.WriteValues(values, ValueEncoding.Compressed);
/// int length = writer.Commit(crc: true);                                // or a negative FrameStatus
/// </code>
/// Too small a buffer is a status (<see cref="FrameStatus.BufferTooSmall"/>) latched until commit;
/// misuse (sections out of order, unsorted keys) throws, since it is a bug in the caller.
/// </summary>
public ref struct FrameWriter
{
    private readonly Span<byte> _buffer;
    private readonly CodecScratch? _scratch;
    private int _position;
    private Stage _stage;
    private FrameStatus _status;
    private FrameFlags _flags;
    private uint _keyCount;
    private uint _valueCount;
    private int _keysLength;
    private int _valuesLength;
    private int _extrasLength;
    private ReadOnlySpan<byte> _attached;

    private FrameWriter(Span<byte> buffer, CodecScratch? scratch)
    {
        _buffer = buffer;
        _scratch = scratch;
        _position = FrameLayout.HeaderSize;
    }

    private enum Stage { Header, Keys, Values, Extras, Committed }

    /// <summary>The outcome so far: <see cref="FrameStatus.Ok"/> or why the frame cannot be completed.</summary>
    public readonly FrameStatus Status => _status;

    /// <summary>
    /// Starts a frame in <paramref name="buffer"/>. <paramref name="scratch"/> is needed only for
    /// grouped LZ4 keys and for quantised values with LZ4; without it those options fall back.
    /// </summary>
    public static FrameWriter Claim(Span<byte> buffer, in FrameHeader header, CodecScratch? scratch = null)
    {
        if (!BitConverter.IsLittleEndian)
            ThrowBigEndian();
        if (!Enum.IsDefined(header.Type))
            throw new ArgumentException($"message type {(int)header.Type} is not defined", nameof(header));
        var w = new FrameWriter(buffer, scratch);
        if (buffer.Length < FrameLayout.HeaderSize)
        {
            w._status = FrameStatus.BufferTooSmall;
            return w;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[FrameLayout.MagicOffset..], FrameLayout.Magic);
        buffer[FrameLayout.VersionOffset] = FrameLayout.Version;
        buffer[FrameLayout.TypeOffset] = (byte)header.Type;
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[FrameLayout.TableIdOffset..], header.TableId);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[FrameLayout.SenderIdOffset..], header.SenderId);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[FrameLayout.RequestIdOffset..], header.RequestId);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[FrameLayout.ClockOffset..], header.Clock);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[FrameLayout.ArgumentOffset..], header.Argument);
        return w;
    }

    /// <summary>
    /// Writes a sorted unique key list. With <paramref name="peerCache"/> (this sender's memory of what
    /// the peer holds) a list the peer already has travels as its 16-byte signature; a new one travels
    /// in full, flagged for the peer to remember, and is remembered here.
    /// </summary>
    public void WriteKeys(ReadOnlySpan<ulong> keys, KeyEncodingPolicy policy = KeyEncodingPolicy.Smallest, KeyCache? peerCache = null)
    {
        Advance(Stage.Keys);
        KeySet.Validate(keys);
        if (keys.IsEmpty)
            return;
        if (peerCache is not null)
        {
            KeySignature signature = KeySignature.Compute(keys);
            if (peerCache.Contains(signature, keys.Length))
            {
                PutSignature(signature, keys.Length);
                return;
            }
            peerCache.Remember(signature, keys);
            _flags |= FrameFlags.KeysRemember;
        }
        _keyCount = (uint)keys.Length;
        if (_status != FrameStatus.Ok)
            return;
        Span<byte> room = _buffer[_position..];
        long raw = 8L * keys.Length;
        long varint = policy == KeyEncodingPolicy.Raw ? long.MaxValue : DeltaVarintKeys.Measure(keys);
        long best = Math.Min(raw, varint);
        int written = -1;
        // Grouped LZ4 only pays on lists long enough for LZ4 to find runs (64 keys: one cache line of planes).
        if (policy == KeyEncodingPolicy.Smallest && _scratch is not null && keys.Length >= 64)
        {
            written = GroupedKeys.Write(keys, room[..(int)Math.Min(room.Length, best - 1)], _scratch);
            if (written > 0)
                _flags |= FrameFlags.KeysGroupedLz4;
        }
        if (written < 0 && varint < raw)
        {
            written = DeltaVarintKeys.Write(keys, room);
            if (written >= 0)
                _flags |= FrameFlags.KeysDeltaVarint;
        }
        else if (written < 0)
        {
            written = RawKeys.Write(keys, room);
        }
        Produced(written, ref _keysLength);
    }

    /// <summary>Writes only the signature of a list the receiver caches (also the body of a KeyListRequest).</summary>
    public void WriteCachedKeys(KeySignature signature, int keyCount)
    {
        Advance(Stage.Keys);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keyCount);
        PutSignature(signature, keyCount);
    }

    /// <summary>Writes the dense range [begin, end) instead of a key list (a range request or push).</summary>
    public void WriteKeyRange(ulong begin, ulong end)
    {
        Advance(Stage.Keys);
        if (end <= begin || end - begin > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(end), $"[{begin}, {end}) must hold 1 to {int.MaxValue} keys");
        _keyCount = (uint)(end - begin);
        _flags |= FrameFlags.KeyRange;
        if (!Fits(FrameLayout.RangeSize))
            return;
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer[_position..], begin);
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer[(_position + 8)..], end);
        Produced(FrameLayout.RangeSize, ref _keysLength);
    }

    /// <summary>
    /// Encodes values into the buffer (quantised, LZ4'd when that saves enough). A non-empty
    /// <paramref name="residual"/> carries quantisation error across pushes (see <see cref="ErrorFeedback"/>).
    /// </summary>
    public void WriteValues(ReadOnlySpan<float> values, in ValueEncoding encoding, Span<float> residual = default)
    {
        Advance(Stage.Values);
        _valueCount = (uint)values.Length;
        if (_status != FrameStatus.Ok)
            return;
        int written = ValueSection.Write(values, residual, encoding, _buffer[_position..], _scratch, out FrameFlags flags);
        _flags |= flags;
        Produced(written, ref _valuesLength);
    }

    /// <summary>
    /// Reserves a raw float32 values section of <paramref name="count"/> values for the caller to
    /// fill in place (a server reads a pull's answer from its table straight into the frame). Empty
    /// when the buffer is too small (<see cref="Status"/> says so).
    /// </summary>
    public Span<float> ReserveRawValues(int count)
    {
        Advance(Stage.Values);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _valueCount = (uint)count;
        int bytes = checked(count * sizeof(float));
        if (!Fits(bytes))
            return default;
        Span<byte> section = _buffer.Slice(_position, bytes);
        Produced(bytes, ref _valuesLength);
        return MemoryMarshal.Cast<byte, float>(section);
    }

    /// <summary>
    /// Declares raw float32 values that stay where they are: the frame becomes head | values | tail
    /// segments (<see cref="CommitSegments"/>), so a large dense range is never copied to add a header.
    /// </summary>
    public void AttachValues(ReadOnlySpan<float> values)
    {
        Advance(Stage.Values);
        _valueCount = (uint)values.Length;
        _attached = MemoryMarshal.AsBytes(values);
        _valuesLength = _attached.Length;
    }

    /// <summary>Copies message-specific bytes (an error message, a range map, an HMAC) into the frame.</summary>
    public void WriteExtras(ReadOnlySpan<byte> extras)
    {
        Advance(Stage.Extras);
        if (!Fits(extras.Length))
            return;
        extras.CopyTo(_buffer[_position..]);
        Produced(extras.Length, ref _extrasLength);
    }

    /// <summary>Finishes a contiguous frame: its length, or a negative <see cref="FrameStatus"/>.</summary>
    public int Commit(bool crc = false)
    {
        if (!_attached.IsEmpty)
            throw new InvalidOperationException("values were attached: use CommitSegments for a scatter-gather frame");
        FrameStatus s = CommitSegments(crc, out FrameSegments segments);
        return s == FrameStatus.Ok ? segments.Length : (int)s;
    }

    /// <summary>Finishes the frame as scatter-gather segments (one segment when nothing was attached).</summary>
    public FrameStatus CommitSegments(bool crc, out FrameSegments segments)
    {
        if (_stage == Stage.Committed)
            throw new InvalidOperationException("the frame was already committed");
        _stage = Stage.Committed;
        segments = default;
        long total = (long)FrameLayout.HeaderSize + _keysLength + _valuesLength + _extrasLength;
        if (total > int.MaxValue)
            _status = FrameStatus.BufferTooSmall;
        if (_status != FrameStatus.Ok)
            return _status;
        if (crc)
            _flags |= FrameFlags.Crc32CPresent;
        Span<byte> b = _buffer;
        BinaryPrimitives.WriteUInt16LittleEndian(b[FrameLayout.FlagsOffset..], (ushort)_flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b[FrameLayout.KeyCountOffset..], _keyCount);
        BinaryPrimitives.WriteUInt32LittleEndian(b[FrameLayout.ValueCountOffset..], _valueCount);
        BinaryPrimitives.WriteInt32LittleEndian(b[FrameLayout.KeysLengthOffset..], _keysLength);
        BinaryPrimitives.WriteInt32LittleEndian(b[FrameLayout.ValuesLengthOffset..], _valuesLength);
        BinaryPrimitives.WriteInt32LittleEndian(b[FrameLayout.ExtrasLengthOffset..], _extrasLength);
        BinaryPrimitives.WriteInt32LittleEndian(b[FrameLayout.FrameLengthOffset..], (int)total);
        BinaryPrimitives.WriteUInt32LittleEndian(b[FrameLayout.CrcOffset..], 0);

        // Attached values sit between the head (header + keys) and the tail (extras) on the wire.
        int headEnd = _attached.IsEmpty ? _position : FrameLayout.HeaderSize + _keysLength;
        ReadOnlySpan<byte> head = b[..headEnd];
        ReadOnlySpan<byte> tail = _attached.IsEmpty ? default : b[headEnd.._position];
        if (crc)
        {
            uint c = Crc32C.Append(0, head[..FrameLayout.CrcOffset]);
            c = Crc32C.Append(c, head[FrameLayout.HeaderSize..]);
            c = Crc32C.Append(c, _attached);
            c = Crc32C.Append(c, tail);
            BinaryPrimitives.WriteUInt32LittleEndian(b[FrameLayout.CrcOffset..], c);
        }
        segments = new FrameSegments(head, _attached, tail);
        return FrameStatus.Ok;
    }

    private void PutSignature(KeySignature signature, int keyCount)
    {
        _keyCount = (uint)keyCount;
        _flags |= FrameFlags.KeysCached;
        if (!Fits(FrameLayout.SignatureSize))
            return;
        signature.WriteTo(_buffer[_position..]);
        Produced(FrameLayout.SignatureSize, ref _keysLength);
    }

    private void Advance(Stage next)
    {
        if (_stage >= next)
            ThrowOutOfOrder(_stage, next);
        _stage = next;
    }

    private bool Fits(int length)
    {
        if (_status == FrameStatus.Ok && _buffer.Length - _position >= length)
            return true;
        _status = FrameStatus.BufferTooSmall;
        return false;
    }

    private void Produced(int written, ref int sectionLength)
    {
        if (written < 0)
        {
            _status = FrameStatus.BufferTooSmall;
            return;
        }
        sectionLength = written;
        _position += written;
    }

    [DoesNotReturn]
    private static void ThrowOutOfOrder(Stage stage, Stage next) =>
        throw new InvalidOperationException($"frame sections go keys, values, extras, each at most once: cannot write {next} after {stage}");

    [DoesNotReturn]
    private static void ThrowBigEndian() =>
        throw new PlatformNotSupportedException("the wire format is little-endian and this codec reads it in place: big-endian hosts are not supported");
}
