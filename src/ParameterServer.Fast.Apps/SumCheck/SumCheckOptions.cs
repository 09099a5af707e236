namespace ParameterServer.Fast.Apps.SumCheck;

/// <summary>
/// The cluster self-test: every worker pushes deterministic small-integer increments to a sparse
/// and a dense table under the Sum updater for <see cref="Rounds"/> rounds, then worker 0 pulls
/// both tables and compares every row with the exact expected sum.
/// </summary>
public sealed record SumCheckOptions
{
    /// <summary>Largest increment pushed to one row in one round (sparse 1..4, dense 0..2).</summary>
    public const int MaxIncrement = 4;

    /// <summary>
    /// Float sums of whole numbers are exact below 2^24 in any order; a row can receive at most
    /// rounds × workers × <see cref="MaxIncrement"/>, which must stay below it.
    /// </summary>
    public const long ExactLimit = 1 << 24;

    public int Rounds { get; init; } = 200;
    /// <summary>Keys of the sparse table, spread over the whole 64-bit key space (so over every server).</summary>
    public int SparseKeys { get; init; } = 20_000;
    /// <summary>Rows of the dense table, keys [0, DenseKeys).</summary>
    public int DenseKeys { get; init; } = 16_384;
    /// <summary>
    /// Distinct sparse key sets a worker cycles through (round r uses set r mod this), as minibatches
    /// repeat: repeated lists travel as signatures and hit the servers' slot caches, so that path is
    /// checked too. 0: a new set every round (every list sent in full; the caches fill to their bounds).
    /// </summary>
    public int KeyLists { get; init; }
    /// <summary>A pause after each round, so a short job can last long enough for fault injection.</summary>
    public TimeSpan Pace { get; init; } = TimeSpan.Zero;
    public ulong Seed { get; init; } = 1;

    public void Validate()
    {
        if (Rounds < 1 || SparseKeys < 1 || DenseKeys < 1)
            throw new ArgumentException($"sum-check: rounds ({Rounds}), sparse keys ({SparseKeys}) and dense keys ({DenseKeys}) must be positive");
        if (KeyLists < 0)
            throw new ArgumentException($"sum-check: key lists must be ≥ 0, got {KeyLists}");
        if (Pace < TimeSpan.Zero || Pace > TimeSpan.FromMinutes(1))
            throw new ArgumentException($"sum-check: the pace must be in 0..60000 ms, got {Pace.TotalMilliseconds} ms");
    }

    /// <summary>Throws when <paramref name="workers"/> could push a row past the exact float range.</summary>
    public void ValidateFor(int workers)
    {
        if ((long)Rounds * workers * MaxIncrement >= ExactLimit)
            throw new ArgumentException($"sum-check: {Rounds} rounds × {workers} workers × {MaxIncrement} could reach {ExactLimit} in one row, past exact float sums: use fewer rounds");
    }
}
