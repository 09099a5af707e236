using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Tables.Snapshots;

namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// Writes one server's tables to a checkpoint file (<see cref="CheckpointFormat"/>): streamed a
/// block of rows at a time, under a temporary name, fsynced and renamed (<see cref="DurableFile"/>).
/// Call it on the thread that owns the tables, with pushes past the checkpoint's clock held back,
/// so the file is the state at exactly that clock.
/// </summary>
public static class CheckpointWriter
{
    /// <summary>
    /// Writes <paramref name="tables"/> (each a part of a table this server holds) to
    /// <paramref name="path"/>; returns what the manifest records of the file.
    /// </summary>
    /// <param name="floatsPerBlock">Floats per array in one ROWS record; the default suits every table.</param>
    public static CheckpointFileInfo Write(string path, CheckpointFileHeader header, IReadOnlyList<Table> tables, int floatsPerBlock = RowBlock.DefaultFloats)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(header.Clock);
        ArgumentOutOfRangeException.ThrowIfLessThan(floatsPerBlock, 1);
        (long length, uint crc) = DurableFile.Write(path, file =>
        {
            var records = new RecordWriter(file);
            records.WriteMagic();
            records.Write(CheckpointFormat.HeadTag, CheckpointRecords.EncodeHead(header, tables.Count));
            long rows = 0;
            foreach (Table table in tables)
                rows += WriteTable(records, table, floatsPerBlock);
            records.Write(CheckpointFormat.EndTag, CheckpointRecords.EncodeEnd(tables.Count, rows, records.FileCrc));
            return (records.Position, records.FileCrc);
        });
        return new CheckpointFileInfo(header.ServerId, Path.GetFileName(path), length, crc);
    }

    private static long WriteTable(RecordWriter records, Table table, int floatsPerBlock)
    {
        long rowBytes = CheckpointFormat.RowBytes(table.Width, table.Updater.StateCount);
        // At least one row a block, and never a block a reader would refuse.
        long fitting = (CheckpointFormat.MaxRowsPayload - sizeof(uint)) / rowBytes;
        if (fitting < 1)
            throw new ArgumentException($"table '{table.Name}': one row of {rowBytes} bytes exceeds the {CheckpointFormat.MaxRowsPayload >> 20} MiB block of a checkpoint");
        int rowsPerBlock = (int)Math.Min(fitting, Math.Max(1, floatsPerBlock / table.Width));
        records.Write(CheckpointFormat.TableTag, CheckpointRecords.EncodeTable(table, rowsPerBlock));
        var block = new RowBlock(table.Width, table.Updater.StateCount, rowsPerBlock);
        TableRowReader reader = table.ExportRows();
        while (reader.Read(block) > 0)
            records.WriteRows(block);
        return reader.RowsRead;
    }
}
