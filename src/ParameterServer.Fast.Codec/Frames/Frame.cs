using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Codec.Keys;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// A validated frame, read in place: header fields and views of its sections over the received
/// bytes (valid while they are). Made only by <see cref="FrameReader.Read"/>, so every length,
/// count and flag here has been checked; section contents are checked when decoded
/// (<see cref="FrameDecoder"/>).
/// </summary>
public readonly ref struct Frame
{
    internal Frame(ReadOnlySpan<byte> bytes, FrameFlags flags, uint keyCount, uint valueCount, int keysLength, int valuesLength, int extrasLength)
    {
        Bytes = bytes;
        Flags = flags;
        KeyCount = (int)keyCount;
        ValueCount = (int)valueCount;
        Keys = bytes.Slice(FrameLayout.HeaderSize, keysLength);
        Values = bytes.Slice(FrameLayout.HeaderSize + keysLength, valuesLength);
        Extras = bytes.Slice(FrameLayout.HeaderSize + keysLength + valuesLength, extrasLength);
    }

    /// <summary>The whole frame (header and sections).</summary>
    public ReadOnlySpan<byte> Bytes { get; }

    public int Length => Bytes.Length;

    public MessageType Type => (MessageType)Bytes[FrameLayout.TypeOffset];

    public FrameFlags Flags { get; }

    public uint TableId => BinaryPrimitives.ReadUInt32LittleEndian(Bytes[FrameLayout.TableIdOffset..]);

    public uint SenderId => BinaryPrimitives.ReadUInt32LittleEndian(Bytes[FrameLayout.SenderIdOffset..]);

    public ulong RequestId => BinaryPrimitives.ReadUInt64LittleEndian(Bytes[FrameLayout.RequestIdOffset..]);

    public long Clock => BinaryPrimitives.ReadInt64LittleEndian(Bytes[FrameLayout.ClockOffset..]);

    public uint Argument => BinaryPrimitives.ReadUInt32LittleEndian(Bytes[FrameLayout.ArgumentOffset..]);

    public FrameHeader Header => new(Type, TableId, SenderId, RequestId, Clock, Argument);

    /// <summary>Keys after decoding (a range's length, a cached list's length).</summary>
    public int KeyCount { get; }

    /// <summary>Values after decoding (floats).</summary>
    public int ValueCount { get; }

    /// <summary>The keys section as received (encoded as <see cref="Flags"/> say).</summary>
    public ReadOnlySpan<byte> Keys { get; }

    /// <summary>The values section as received.</summary>
    public ReadOnlySpan<byte> Values { get; }

    public ReadOnlySpan<byte> Extras { get; }

    public bool HasCachedKeys => (Flags & FrameFlags.KeysCached) != 0;

    /// <summary>The signature of a cached key list (keys-cached frames, KeyListRequest).</summary>
    public KeySignature KeySignature => HasCachedKeys ? KeySignature.ReadFrom(Keys) : default;

    /// <summary>The dense key range of a range frame.</summary>
    public bool TryGetKeyRange(out KeyRange range)
    {
        if ((Flags & FrameFlags.KeyRange) == 0)
        {
            range = default;
            return false;
        }
        range = new KeyRange(BinaryPrimitives.ReadUInt64LittleEndian(Keys), BinaryPrimitives.ReadUInt64LittleEndian(Keys[8..]));
        return true;
    }

    /// <summary>
    /// Zero copy: raw float32 values viewed where they arrived. False when the section is LZ4 or
    /// quantised (decode with <see cref="FrameDecoder.DecodeValues"/>).
    /// </summary>
    public bool TryGetRawValues(out ReadOnlySpan<float> values)
    {
        if ((Flags & (FrameFlags.ValuesLz4 | FrameFlags.Quantized)) != 0)
        {
            values = default;
            return false;
        }
        values = MemoryMarshal.Cast<byte, float>(Values);
        return true;
    }
}
