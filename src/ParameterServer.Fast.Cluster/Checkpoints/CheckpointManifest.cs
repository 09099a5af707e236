using System.Globalization;
using System.Text;
using ParameterServer.Fast.Codec.Checksums;

namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// What makes a set of server files one checkpoint: the job clock they were all taken at, the
/// range map they were taken under, and each server's file with its length and CRC-32C. Written
/// last, so a checkpoint without a manifest is one that never finished. A small text file an
/// operator can read, ending with the CRC-32C of every byte before its last line:
/// <code>
///   psf-checkpoint 1
///   clock 120
///   range-map-version 7
///   created 2026-01-02T03:04:05.0060000+00:00
///   files 2
///   file 1 server-1.psfck 1048648 0A1B2C3D
///   file 2 server-2.psfck 1048648 44556677
///   crc32c 89ABCDEF
/// </code>
/// </summary>
public sealed record CheckpointManifest(long Clock, uint RangeMapVersion, IReadOnlyList<CheckpointFileInfo> Files)
{
    private const string FirstLine = "psf-checkpoint 1";

    // 64 KiB holds the lines of 1,000 servers; a manifest claiming more is not one of ours.
    private const int MaxBytes = 64 << 10;

    public DateTimeOffset Created { get; init; } = DateTimeOffset.UtcNow;

    public string ToText()
    {
        var text = new StringBuilder();
        text.Append(FirstLine).Append('\n');
        text.Append(CultureInfo.InvariantCulture, $"clock {Clock}\n");
        text.Append(CultureInfo.InvariantCulture, $"range-map-version {RangeMapVersion}\n");
        text.Append(CultureInfo.InvariantCulture, $"created {Created.ToUniversalTime():O}\n");
        text.Append(CultureInfo.InvariantCulture, $"files {Files.Count}\n");
        foreach (CheckpointFileInfo f in Files)
            text.Append(CultureInfo.InvariantCulture, $"file {f.ServerId} {f.FileName} {f.Length} {f.Crc32C:X8}\n");
        uint crc = Crc32C.Compute(Encoding.UTF8.GetBytes(text.ToString()));
        text.Append(CultureInfo.InvariantCulture, $"crc32c {crc:X8}\n");
        return text.ToString();
    }

    /// <summary>Parses a manifest read from <paramref name="path"/> (named in errors); checks its CRC first, then every line.</summary>
    public static CheckpointManifest Parse(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.Length > MaxBytes)
            throw new CheckpointCorruptException(path, -1, $"a manifest of {bytes.Length} bytes is larger than any this build writes ({MaxBytes})");
        int last = bytes.Length >= 1 && bytes[^1] == (byte)'\n' ? bytes[..^1].LastIndexOf((byte)'\n') : -1;
        if (last < 0)
            throw new CheckpointCorruptException(path, -1, "the manifest does not end with its checksum line (truncated?)");
        string crcLine = Text(bytes[(last + 1)..^1], path);
        uint computed = Crc32C.Compute(bytes[..(last + 1)]);
        // The checksum line is outside what it covers, so only its one canonical spelling is accepted.
        if (!crcLine.StartsWith("crc32c ", StringComparison.Ordinal) || !TryParseCrc(crcLine[7..], out uint stored))
            throw new CheckpointCorruptException(path, last + 1, $"the last line should be \"crc32c XXXXXXXX\", it is \"{Shorten(crcLine)}\" (truncated?)");
        if (stored != computed)
            throw new CheckpointCorruptException(path, last + 1, $"checksum mismatch: stored 0x{stored:X8}, computed 0x{computed:X8}");
        string[] lines = Text(bytes[..last], path).Split('\n');
        var lineReader = new Lines(lines, path);
        lineReader.Expect(FirstLine);
        long clock = lineReader.Number("clock", 0, long.MaxValue);
        uint version = (uint)lineReader.Number("range-map-version", 0, uint.MaxValue);
        string created = lineReader.Field("created");
        if (!DateTimeOffset.TryParseExact(created, "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTimeOffset when))
            throw lineReader.Bad($"creation time '{Shorten(created)}' is not an ISO 8601 time");
        int count = (int)lineReader.Number("files", 1, 65536);
        var files = new List<CheckpointFileInfo>(count);
        for (int i = 0; i < count; i++)
            files.Add(lineReader.File(files));
        lineReader.ExpectEnd();
        return new CheckpointManifest(clock, version, files) { Created = when };
    }

    /// <summary>Whether <paramref name="name"/> is a plain file name (no folder, no "..", no control characters): manifests name files inside their own folder only.</summary>
    public static bool IsPlainFileName(string name) =>
        name.Length is > 0 and <= 255 && name is not "." and not ".." && !name.Any(c => char.IsControl(c) || c is '/' or '\\' or ' ' or ':');

    // Exactly eight upper-case hex digits, as ToText writes them.
    private static bool TryParseCrc(string text, out uint crc)
    {
        crc = 0;
        return text.Length == 8 && text.All(c => char.IsAsciiDigit(c) || c is >= 'A' and <= 'F')
            && uint.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out crc);
    }

    private static string Text(ReadOnlySpan<byte> bytes, string path)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new CheckpointCorruptException(path, -1, "the manifest is not UTF-8 text");
        }
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private sealed class Lines(string[] lines, string path)
    {
        private int _next;

        public CheckpointCorruptException Bad(string problem) => new(path, -1, $"manifest line {_next}: {problem}");

        public void Expect(string line)
        {
            string found = Next(line);
            if (found != line)
                throw Bad($"expected \"{line}\", found \"{Shorten(found)}\"");
        }

        public string Field(string name)
        {
            string line = Next(name);
            return line.StartsWith(name + " ", StringComparison.Ordinal) ? line[(name.Length + 1)..] : throw Bad($"expected \"{name} …\", found \"{Shorten(line)}\"");
        }

        public long Number(string name, long min, long max)
        {
            string text = Field(name);
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v) && v >= min && v <= max
                ? v
                : throw Bad($"{name} must be a whole number in [{min}, {max}], got '{Shorten(text)}'");
        }

        public CheckpointFileInfo File(List<CheckpointFileInfo> earlier)
        {
            string[] parts = Field("file").Split(' ');
            if (parts.Length != 4
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int server)
                || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long length)
                || !TryParseCrc(parts[3], out uint crc))
                throw Bad("expected \"file SERVER NAME LENGTH CRC32C\"");
            if (!IsPlainFileName(parts[1]))
                throw Bad($"'{Shorten(parts[1])}' is not a plain file name");
            if (earlier.Any(f => f.ServerId == server || f.FileName == parts[1]))
                throw Bad($"server {server} or file {parts[1]} is listed twice");
            return new CheckpointFileInfo(server, parts[1], length, crc);
        }

        public void ExpectEnd()
        {
            if (_next != lines.Length)
                throw Bad($"{lines.Length - _next} unexpected lines before the checksum");
        }

        private string Next(string what)
        {
            if (_next >= lines.Length)
                throw Bad($"the manifest ends where \"{what}\" was expected");
            return lines[_next++];
        }
    }
}
