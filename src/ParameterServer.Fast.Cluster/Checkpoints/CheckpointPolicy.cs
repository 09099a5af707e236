namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// When and where a job takes checkpoints (the scheduler's <c>--checkpoint-dir</c>,
/// <c>--checkpoint-every</c>, <c>--checkpoint-keep</c>), and the checkpoint it resumes from.
/// </summary>
public sealed record CheckpointPolicy
{
    /// <summary>The root folder of the job's checkpoints (<see cref="CheckpointStore"/>), as the scheduler sees it.</summary>
    public required string Directory { get; init; }

    /// <summary>A checkpoint at every clock that is a multiple of this; 0 takes none (a job that only resumes).</summary>
    public int Every { get; init; }

    /// <summary>Good checkpoints kept; older ones are deleted once a newer one is committed. 2 leaves one to fall back on if the newest is damaged.</summary>
    public int Keep { get; init; } = 2;

    /// <summary>How long the servers may take to write their files before the checkpoint is given up (the job goes on).</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The checkpoint the job starts from (<c>--resume</c>), or null for a fresh start.</summary>
    public CheckpointSearch? Resume { get; init; }

    /// <summary>The clock the job starts at: the resumed checkpoint's, or 0.</summary>
    public long StartClock => Resume?.Found?.Clock ?? 0;

    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Directory);
        if (Every < 0)
            throw new ArgumentException($"the checkpoint interval must be ≥ 0 clocks, got {Every}");
        if (Keep < 1)
            throw new ArgumentException($"at least one checkpoint must be kept, got {Keep}");
        if (WriteTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"the checkpoint write timeout must be positive, got {WriteTimeout}");
        if (Resume is { Found: null })
            throw new ArgumentException("a resume needs the checkpoint found, not an empty search");
    }

    /// <summary>
    /// The last good checkpoint under <paramref name="directory"/> for <c>--resume</c>, with every
    /// newer one passed over and why. Throws <see cref="CheckpointCorruptException"/> when there is
    /// none to resume from: the folder holds no checkpoint at all, or every one is damaged (each named with its problem).
    /// </summary>
    public static CheckpointSearch FindResumePoint(string directory)
    {
        var store = new CheckpointStore(directory);
        CheckpointSearch search = store.FindLastGood();
        if (search.Found is not null)
            return search;
        if (search.Skipped.Count == 0)
            throw new CheckpointCorruptException($"nothing to resume: {store.Root} holds no checkpoint (a folder clock-NNNNNNNNNNNN with a MANIFEST)");
        throw new CheckpointCorruptException($"nothing to resume: no checkpoint in {store.Root} is intact:\n  " + string.Join("\n  ", search.Skipped));
    }
}
