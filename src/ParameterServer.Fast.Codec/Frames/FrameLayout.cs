namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// The fixed 64-byte frame header, little-endian, then the sections back to back:
/// <code>
///  0               4       5       6               8
///  +---------------+-------+-------+---------------+
///  | magic "PSF1"  |version| type  |    flags      |
///  +---------------+-------+-------+---------------+
///  8               12              16
///  +---------------+---------------+
///  |   table id    |   sender id   |
///  +---------------+---------------+-------------------------------+
///  16                              24                              32
///  |          request id           |      clock (i64)              |
///  +---------------+---------------+---------------+---------------+
///  32              36              40              44              48
///  |  key count    |  value count  |  keys length  | values length |
///  +---------------+---------------+---------------+---------------+
///  48              52              56              60              64
///  | extras length |   argument    | frame length  |    CRC32C     |
///  +---------------+---------------+---------------+---------------+
///  64: keys section | values section | extras section
/// </code>
/// 64 bytes: one cache line, so a header never straddles two and sections start 8-byte aligned
/// when the keys section is. Frame length = 64 + the three section lengths, so a stream transport
/// reads 64 bytes and then knows exactly how much follows. The CRC covers bytes [0, 60) and all
/// sections; it is 0 when <see cref="FrameFlags.Crc32CPresent"/> is clear.
/// </summary>
public static class FrameLayout
{
    /// <summary>"PSF1" read as a little-endian u32.</summary>
    public const uint Magic = 0x3146_5350;
    public const byte Version = 1;

    public const int MagicOffset = 0;
    public const int VersionOffset = 4;
    public const int TypeOffset = 5;
    public const int FlagsOffset = 6;
    public const int TableIdOffset = 8;
    public const int SenderIdOffset = 12;
    public const int RequestIdOffset = 16;
    public const int ClockOffset = 24;
    public const int KeyCountOffset = 32;
    public const int ValueCountOffset = 36;
    public const int KeysLengthOffset = 40;
    public const int ValuesLengthOffset = 44;
    public const int ExtrasLengthOffset = 48;
    public const int ArgumentOffset = 52;
    public const int FrameLengthOffset = 56;
    public const int CrcOffset = 60;
    public const int HeaderSize = 64;

    /// <summary>Bytes of a cached key list on the wire: the 128-bit signature.</summary>
    public const int SignatureSize = 16;
    /// <summary>Bytes of a key range on the wire: begin and end.</summary>
    public const int RangeSize = 16;
    /// <summary>Bytes before the LZ4 block of a grouped key section: first key (u64) and width (u8).</summary>
    public const int GroupedPrefixSize = 9;

    /// <summary>
    /// The largest frame <see cref="FrameWriter"/> can produce for these counts: the writer only picks
    /// an encoding smaller than raw, so raw sizes bound every choice. Size claim buffers with this.
    /// </summary>
    public static long MaxFrameLength(int keyCount, int valueCount, int extrasLength = 0) =>
        HeaderSize + Math.Max(16L, 8L * keyCount) + 4L * valueCount + extrasLength;
}
