using System.Buffers.Binary;
using System.Numerics;
using ParameterServer.Fast.Codec.Checksums;
using ParameterServer.Fast.Codec.Compression;

namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// Validates a received frame and returns a view of it. Every field is checked before it is used
/// to index anything: magic, version, type, flags (unknown bits, conflicting modes), counts against
/// <see cref="FrameLimits"/>, the frame length against the section lengths and the bytes at hand,
/// each section's length against its mode, the sections each message type allows, and the CRC.
/// A bad frame throws <see cref="ProtocolException"/> naming the field and value; nothing else.
/// </summary>
public static class FrameReader
{
    // Types are numbered 1..last with no gaps (MessageType only appends); a static readonly the
    // JIT folds into a constant, so a new type needs no change here.
    private static readonly byte s_lastType = (byte)Enum.GetValues<MessageType>().Max();

    /// <summary>
    /// For stream transports: checks the fixed header's magic, version and frame length and returns
    /// the frame length, so exactly that many bytes are read next. Needs the first 64 bytes.
    /// </summary>
    public static int PeekLength(ReadOnlySpan<byte> header, FrameLimits limits)
    {
        if (header.Length < FrameLayout.HeaderSize)
            ProtocolException.Throw("frame length", (ulong)header.Length, $"shorter than the {FrameLayout.HeaderSize}-byte header");
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (magic != FrameLayout.Magic)
            ProtocolException.Throw("magic", magic, $"expected 0x{FrameLayout.Magic:X8} (\"PSF1\")");
        byte version = header[FrameLayout.VersionOffset];
        if (version != FrameLayout.Version)
            ProtocolException.Throw("version", version, $"this build speaks version {FrameLayout.Version}");
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header[FrameLayout.FrameLengthOffset..]);
        if (length < FrameLayout.HeaderSize || length > (uint)limits.MaxFrameBytes)
            ProtocolException.Throw("frame length", length, $"must be {FrameLayout.HeaderSize}..{limits.MaxFrameBytes}");
        return (int)length;
    }

    /// <summary>Validates the frame at the start of <paramref name="bytes"/> (which may hold more after it).</summary>
    public static Frame Read(ReadOnlySpan<byte> bytes, FrameLimits limits)
    {
        int length = PeekLength(bytes, limits);
        if (length > bytes.Length)
            ProtocolException.Throw("frame length", (ulong)length, $"only {bytes.Length} bytes arrived");
        bytes = bytes[..length];

        byte type = bytes[FrameLayout.TypeOffset];
        if (type == 0 || type > s_lastType)
            ProtocolException.Throw("message type", type, "unknown");
        var flags = (FrameFlags)BinaryPrimitives.ReadUInt16LittleEndian(bytes[FrameLayout.FlagsOffset..]);
        CheckFlags(flags);

        uint keyCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[FrameLayout.KeyCountOffset..]);
        uint valueCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[FrameLayout.ValueCountOffset..]);
        uint keysLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes[FrameLayout.KeysLengthOffset..]);
        uint valuesLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes[FrameLayout.ValuesLengthOffset..]);
        uint extrasLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes[FrameLayout.ExtrasLengthOffset..]);
        if (keyCount > (uint)limits.MaxKeyCount)
            ProtocolException.Throw("key count", keyCount, $"above the limit {limits.MaxKeyCount}");
        if (valueCount > (uint)limits.MaxValueCount)
            ProtocolException.Throw("value count", valueCount, $"above the limit {limits.MaxValueCount}");
        ulong sum = (ulong)FrameLayout.HeaderSize + keysLength + valuesLength + extrasLength;
        if (sum != (ulong)length)
            ProtocolException.Throw("frame length", (ulong)length, $"header + keys {keysLength} + values {valuesLength} + extras {extrasLength} = {sum}");

        CheckKeys(bytes.Slice(FrameLayout.HeaderSize, (int)keysLength), flags, keyCount);
        CheckValues(flags, valueCount, valuesLength);
        MessageRules.Check((MessageType)type, flags, keyCount, valueCount);
        CheckCrc(bytes, flags);
        return new Frame(bytes, flags, keyCount, valueCount, (int)keysLength, (int)valuesLength, (int)extrasLength);
    }

    private static void CheckFlags(FrameFlags flags)
    {
        if ((flags & ~FrameFlags.All) != 0)
            ProtocolException.Throw("flags", (ulong)flags, $"unknown bits 0x{(ushort)(flags & ~FrameFlags.All):X4}");
        if (BitOperations.PopCount((uint)(flags & FrameFlags.KeyModes)) > 1)
            ProtocolException.Throw("flags", (ulong)flags, "more than one key encoding");
        if ((flags & FrameFlags.Quantized) == FrameFlags.Quantized)
            ProtocolException.Throw("flags", (ulong)flags, "both fp16 and bf16");
    }

    private static void CheckKeys(ReadOnlySpan<byte> keys, FrameFlags flags, uint keyCount)
    {
        FrameFlags mode = flags & FrameFlags.KeyModes;
        if (keyCount == 0)
        {
            if (!keys.IsEmpty || (flags & (FrameFlags.KeyModes | FrameFlags.KeysRemember)) != 0)
                ProtocolException.Throw("keys length", (ulong)keys.Length, "keys or key flags without a key count");
            return;
        }
        if ((flags & FrameFlags.KeysRemember) != 0 && (mode is FrameFlags.KeysCached or FrameFlags.KeyRange))
            ProtocolException.Throw("flags", (ulong)flags, "only a full key list can be remembered");
        switch (mode)
        {
            case FrameFlags.KeysCached:
                ExpectLength(keys, FrameLayout.SignatureSize, "a signature");
                break;
            case FrameFlags.KeyRange:
                ExpectLength(keys, FrameLayout.RangeSize, "a range");
                ulong begin = BinaryPrimitives.ReadUInt64LittleEndian(keys), end = BinaryPrimitives.ReadUInt64LittleEndian(keys[8..]);
                if (end <= begin || end - begin != keyCount)
                    ProtocolException.Throw("key range end", end, $"[{begin}, end) must hold the key count {keyCount}");
                break;
            case FrameFlags.KeysDeltaVarint:
                if ((uint)keys.Length < keyCount || (ulong)keys.Length > 10UL * keyCount)
                    ProtocolException.Throw("keys length", (ulong)keys.Length, $"{keyCount} varint keys take {keyCount}..{10UL * keyCount} bytes");
                break;
            case FrameFlags.KeysGroupedLz4:
                if (keyCount < 2 || keys.Length <= FrameLayout.GroupedPrefixSize ||
                    keyCount - 1 > ((ulong)(keys.Length - FrameLayout.GroupedPrefixSize) * Lz4Block.MaxExpansion) + 16)
                    ProtocolException.Throw("keys length", (ulong)keys.Length, $"cannot hold {keyCount} grouped keys");
                break;
            default:
                if ((ulong)keys.Length != 8UL * keyCount)
                    ProtocolException.Throw("keys length", (ulong)keys.Length, $"{keyCount} raw keys take {8UL * keyCount} bytes");
                break;
        }
    }

    private static void ExpectLength(ReadOnlySpan<byte> keys, int expected, string what)
    {
        if (keys.Length != expected)
            ProtocolException.Throw("keys length", (ulong)keys.Length, $"{what} takes {expected} bytes");
    }

    private static void CheckValues(FrameFlags flags, uint valueCount, uint valuesLength)
    {
        ulong decoded = (ulong)valueCount * ((flags & FrameFlags.Quantized) != 0 ? 2UL : 4UL);
        if (valueCount == 0)
        {
            if (valuesLength != 0 || (flags & (FrameFlags.ValuesLz4 | FrameFlags.Quantized)) != 0)
                ProtocolException.Throw("values length", valuesLength, "values or value flags without a value count");
            return;
        }
        if ((flags & FrameFlags.ValuesLz4) != 0)
        {
            if (valuesLength == 0 || decoded > ((ulong)valuesLength * Lz4Block.MaxExpansion) + 16)
                ProtocolException.Throw("values length", valuesLength, $"an LZ4 block this long cannot decode to {decoded} bytes");
        }
        else if (valuesLength != decoded)
        {
            ProtocolException.Throw("values length", valuesLength, $"{valueCount} values take {decoded} bytes");
        }
    }

    private static void CheckCrc(ReadOnlySpan<byte> bytes, FrameFlags flags)
    {
        uint stated = BinaryPrimitives.ReadUInt32LittleEndian(bytes[FrameLayout.CrcOffset..]);
        if ((flags & FrameFlags.Crc32CPresent) == 0)
        {
            if (stated != 0)
                ProtocolException.Throw("crc32c", stated, "set without the crc32c-present flag");
            return;
        }
        uint actual = Crc32C.Append(Crc32C.Compute(bytes[..FrameLayout.CrcOffset]), bytes[FrameLayout.HeaderSize..]);
        if (actual != stated)
            ProtocolException.Throw("crc32c", stated, $"the frame's checksum is 0x{actual:X8}");
    }
}
