namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// Who wrote a checkpoint file and at which point of the job: the server's node id, the job clock
/// every push up to which the file holds, and the range map the server held then.
/// </summary>
public sealed record CheckpointFileHeader(int ServerId, long Clock, uint RangeMapVersion)
{
    public DateTimeOffset Created { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>What the manifest records of one server's file: its name in the checkpoint folder, its length and the CRC-32C of all of it.</summary>
public sealed record CheckpointFileInfo(int ServerId, string FileName, long Length, uint Crc32C);

/// <summary>One table section of a checkpoint file: the table's spec, the key range this server held and how many rows it had.</summary>
public sealed record CheckpointTable(Core.Tables.TableSpec Spec, Core.Keys.KeyRange OwnedRange, long Rows);
