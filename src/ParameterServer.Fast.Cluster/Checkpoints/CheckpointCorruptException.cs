namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// A checkpoint file or manifest is damaged, truncated, extended or not a checkpoint at all. The
/// message names the file, the byte offset (when one applies) and what was wrong there.
/// </summary>
public sealed class CheckpointCorruptException : IOException
{
    public CheckpointCorruptException(string path, long offset, string problem)
        : base(offset >= 0 ? $"checkpoint {path} is corrupt at byte {offset}: {problem}" : $"checkpoint {path} is corrupt: {problem}")
    {
        FilePath = path;
        Offset = offset;
        Problem = problem;
    }

    public CheckpointCorruptException(string message) : base(message)
    {
        FilePath = "";
        Offset = -1;
        Problem = message;
    }

    public CheckpointCorruptException(string message, Exception inner) : base(message, inner)
    {
        FilePath = "";
        Offset = -1;
        Problem = message;
    }

    public CheckpointCorruptException() : this("checkpoint is corrupt") { }

    /// <summary>The damaged file.</summary>
    public string FilePath { get; }

    /// <summary>Where in it the damage was found, or −1 for the file as a whole.</summary>
    public long Offset { get; }

    /// <summary>What was wrong, without the file and offset.</summary>
    public string Problem { get; }
}
