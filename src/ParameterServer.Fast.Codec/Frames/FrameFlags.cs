namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// How the sections of a frame are encoded (two bytes at <see cref="FrameLayout.FlagsOffset"/>).
/// Wire ABI: bits are never reused; a frame with a bit outside <see cref="All"/> is rejected.
/// At most one key mode (<see cref="KeyModes"/>) and one quantisation (<see cref="Quantized"/>) is set;
/// no key mode bit with a non-empty keys section means raw little-endian u64 keys.
/// </summary>
[Flags]
public enum FrameFlags : ushort
{
    None = 0,
    /// <summary>Keys section = the 16-byte <see cref="Keys.KeySignature"/> of a list the receiver cached.</summary>
    KeysCached = 1 << 0,
    /// <summary>Keys section = varint(first key), then varint(gap − 1) for each next key.</summary>
    KeysDeltaVarint = 1 << 1,
    /// <summary>Keys section = u64 first key, u8 width, then an LZ4 block of the (gap − 1) values transposed into byte planes.</summary>
    KeysGroupedLz4 = 1 << 2,
    /// <summary>Keys section = u64 begin, u64 end: the dense range [begin, end); key count = end − begin.</summary>
    KeyRange = 1 << 3,
    /// <summary>The receiver should remember this full key list under its signature (the sender did).</summary>
    KeysRemember = 1 << 4,
    /// <summary>Values section is one LZ4 block that decodes to exactly value count × element size bytes.</summary>
    ValuesLz4 = 1 << 5,
    /// <summary>Values are IEEE binary16 (2 bytes each).</summary>
    ValuesFp16 = 1 << 6,
    /// <summary>Values are bfloat16 (the high 2 bytes of a float32).</summary>
    ValuesBf16 = 1 << 7,
    /// <summary>The header's CRC32C field covers the header (up to the field) and every section.</summary>
    Crc32CPresent = 1 << 8,

    KeyModes = KeysCached | KeysDeltaVarint | KeysGroupedLz4 | KeyRange,
    Quantized = ValuesFp16 | ValuesBf16,
    All = KeyModes | KeysRemember | ValuesLz4 | Quantized | Crc32CPresent,
}
