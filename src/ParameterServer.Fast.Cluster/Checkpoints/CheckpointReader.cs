using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Memory;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Tables.Snapshots;

namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// Reads checkpoint files (<see cref="CheckpointFormat"/>): verifies them, or restores their tables.
/// Every failure of the file is a <see cref="CheckpointCorruptException"/> naming the file, the
/// byte offset and what was wrong; nothing in a file can make the reader crash, read out of bounds
/// or allocate more than one 256 MiB block.
/// </summary>
public static class CheckpointReader
{
    /// <summary>The header alone (who wrote the file and at which clock), from its first record.</summary>
    public static CheckpointFileHeader ReadHeader(string path)
    {
        using FileStream file = Open(path);
        var records = new RecordReader(file, path, file.Length);
        records.ReadMagic();
        return Head(records).Header;
    }

    /// <summary>Reads the whole file and checks every record; builds no table.</summary>
    public static CheckpointContents Verify(string path) => Walk(path, _ => null);

    /// <summary>
    /// Creates the tables the file holds and fills them with its rows (weights and updater state)
    /// exactly as they were written. The tables are the caller's to dispose; on any error, those
    /// made so far are disposed and nothing is returned.
    /// </summary>
    public static RestoredCheckpoint Restore(string path, SlabOptions options = default)
    {
        var tables = new List<Table>();
        try
        {
            CheckpointContents contents = Walk(path, section =>
            {
                Table table;
                try
                {
                    table = Table.Create(section.Spec, section.OwnedRange, options);
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or OverflowException or OutOfMemoryException)
                {
                    throw new CheckpointCorruptException(path, -1, $"table '{section.Spec.Name}' of {section.OwnedRange} cannot be created: {e.Message}");
                }
                tables.Add(table);
                return table;
            });
            return new RestoredCheckpoint(contents.Header, tables);
        }
        catch
        {
            foreach (Table t in tables)
                t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Fills tables the caller already holds: <paramref name="target"/> gets each section of the
    /// file and returns the table to write its rows into (same width and updater, holding every key
    /// of the section), or null to skip it (it is still verified). A damaged file can leave the
    /// targets partly written: verify first, or discard them on error.
    /// </summary>
    public static CheckpointContents Restore(string path, Func<CheckpointTable, Table?> target) => Walk(path, target);

    private static CheckpointContents Walk(string path, Func<CheckpointTable, Table?> target)
    {
        using FileStream file = Open(path);
        var records = new RecordReader(file, path, file.Length);
        records.ReadMagic();
        (CheckpointFileHeader header, int tableCount) = Head(records);
        var sections = new List<CheckpointTable>();
        long rows = 0;
        for (int t = 0; t < tableCount; t++)
        {
            long at = records.Position;
            (CheckpointTable section, int stateCount, int rowsPerBlock) = Decode(records, at,
                () => CheckpointRecords.DecodeTable(records.ReadSmall(CheckpointFormat.TableTag, $"table {t + 1} of {tableCount}")));
            // Rows the file cannot hold are refused before a table reserves room for them.
            long rowBytes = CheckpointFormat.RowBytes(section.Spec.Width, stateCount);
            if (section.Rows > records.BytesLeft / rowBytes)
                throw records.Corrupt(at, $"table '{section.Spec.Name}' claims {section.Rows} rows of {rowBytes} bytes; the {records.BytesLeft} bytes left cannot hold them (truncated?)");
            Table? into = target(section);
            if (into is not null && (into.Width != section.Spec.Width || into.Updater.StateCount != stateCount || !into.OwnedRange.Contains(section.OwnedRange)))
                throw new ArgumentException($"{path}: table '{section.Spec.Name}' of {section.OwnedRange} (width {section.Spec.Width}, {stateCount} state values) does not fit the table given for it (width {into.Width}, {into.Updater.StateCount} state values, {into.OwnedRange})");
            into?.ReserveRows(section.Rows);
            var block = new RowBlock(section.Spec.Width, stateCount, (int)Math.Min(rowsPerBlock, Math.Max(1, section.Rows)));
            long left = section.Rows;
            while (left > 0)
            {
                left -= records.ReadRows(block, left, section.OwnedRange, section.Spec.Name);
                into?.ImportRows(block);
            }
            rows += section.Rows;
            sections.Add(section);
        }
        long endAt = records.Position;
        uint crcBefore = records.FileCrc;
        (int endTables, long endRows, uint endCrc) = Decode(records, endAt,
            () => CheckpointRecords.DecodeEnd(records.ReadSmall(CheckpointFormat.EndTag, "the end of the file")));
        if (endTables != tableCount || endRows != rows)
            throw records.Corrupt(endAt, $"the end record counts {endTables} tables and {endRows} rows, the file holds {tableCount} and {rows}");
        if (endCrc != crcBefore)
            throw records.Corrupt(endAt, $"the file's checksum 0x{crcBefore:X8} differs from the 0x{endCrc:X8} its end record holds");
        records.ExpectEnd();
        return new CheckpointContents(header, sections);
    }

    private static (CheckpointFileHeader Header, int TableCount) Head(RecordReader records) =>
        Decode(records, records.Position, () => CheckpointRecords.DecodeHead(records.ReadSmall(CheckpointFormat.HeadTag, "the file header")));

    // A record whose CRC holds but whose payload does not parse was written wrong: corrupt all the same.
    private static T Decode<T>(RecordReader records, long at, Func<T> decode)
    {
        try
        {
            return decode();
        }
        catch (ProtocolException e)
        {
            throw records.Corrupt(at, e.Message);
        }
    }

    private static FileStream Open(string path)
    {
        try
        {
            // 64 KiB buffers the small reads (record headers, checksums); ROWS payloads are read
            // straight into their block, past the buffer.
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 << 10, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            throw new CheckpointCorruptException(path, -1, "the file is missing");
        }
        catch (DirectoryNotFoundException)
        {
            throw new CheckpointCorruptException(path, -1, "the file's folder is missing");
        }
    }
}

/// <summary>What a checkpoint file holds: its header and one entry per table section.</summary>
public sealed record CheckpointContents(CheckpointFileHeader Header, IReadOnlyList<CheckpointTable> Tables);

/// <summary>The tables restored from one checkpoint file; disposing this disposes them (unless taken).</summary>
public sealed class RestoredCheckpoint(CheckpointFileHeader header, IReadOnlyList<Table> tables) : IDisposable
{
    public CheckpointFileHeader Header { get; } = header;

    public IReadOnlyList<Table> Tables { get; } = tables;

    public void Dispose()
    {
        foreach (Table t in Tables)
            t.Dispose();
    }
}
