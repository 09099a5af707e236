namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// The layout of one server's checkpoint file. Little-endian throughout; every byte after the
/// magic belongs to exactly one record, and every record carries the CRC-32C of its tag, length
/// and payload, so a flipped byte anywhere is caught by the record it falls in (a CRC catches every
/// error burst up to 32 bits) and named with its offset.
/// <code>
///   offset 0   "PSF-CKPT"                         8-byte magic
///   then records, each:
///     +0  u32 tag      HEAD | TABL | ROWS | END.   (ASCII, read as a little-endian u32)
///     +4  u32 length   of the payload
///     +8  payload
///     +8+length  u32 CRC-32C of tag, length and payload
///
///   HEAD  u32 format version, i32 server id, i64 clock, u32 range-map version,
///         i32 table count, i64 created (Unix ms)
///   TABL  the table spec, the key range held, u8 state values per weight, i64 rows, i32 rows per block
///   ROWS  u32 n, then n keys (u64), n × width weights (f32), and per state value n × width f32
///   END.  i32 table count, i64 rows in all, u32 CRC-32C of every byte before this record
/// </code>
/// A file is HEAD, then per table one TABL followed by its ROWS records, then END. and nothing
/// after it. Rows of a table are split into blocks (<see cref="Core.Tables.Snapshots.RowBlock"/>),
/// so neither writing nor reading ever holds more than one block beside the table.
/// </summary>
internal static class CheckpointFormat
{
    public static ReadOnlySpan<byte> Magic => "PSF-CKPT"u8;

    /// <summary>Bumped when a record's payload changes; a reader refuses versions it does not know.</summary>
    public const ushort Version = 1;

    public const uint HeadTag = 'H' | ('E' << 8) | ('A' << 16) | ('D' << 24);
    public const uint TableTag = 'T' | ('A' << 8) | ('B' << 16) | ('L' << 24);
    public const uint RowsTag = 'R' | ('O' << 8) | ('W' << 16) | ('S' << 24);
    public const uint EndTag = 'E' | ('N' << 8) | ('D' << 16) | ('.' << 24);

    public const int RecordHeaderBytes = 8;
    public const int RecordCrcBytes = 4;

    /// <summary>HEAD, TABL and END. are small: a spec with a 128-byte name is under 200 bytes.</summary>
    public const int MaxSmallPayload = 64 << 10;

    /// <summary>
    /// A ROWS record is at most this long (256 MiB), so a reader allocates at most one such block
    /// whatever a damaged length field says; a writer sizes its blocks far below it.
    /// </summary>
    public const long MaxRowsPayload = 256L << 20;

    /// <summary>The file name extension of server checkpoint files.</summary>
    public const string Extension = ".psfck";

    public static string TagName(uint tag)
    {
        Span<char> c = stackalloc char[4];
        for (int i = 0; i < 4; i++)
        {
            char ch = (char)((tag >> (8 * i)) & 0xFF);
            if (ch is < ' ' or > '~')
                return $"0x{tag:X8}";
            c[i] = ch;
        }
        return new string(c);
    }

    /// <summary>Bytes of one row in a ROWS record: its key, its weights and its state values.</summary>
    public static long RowBytes(int width, int stateCount) => sizeof(ulong) + ((long)width * sizeof(float) * (1 + stateCount));
}
