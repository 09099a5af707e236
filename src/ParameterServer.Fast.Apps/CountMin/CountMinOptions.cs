namespace ParameterServer.Fast.Apps.CountMin;

/// <summary>
/// A count-min sketch of <see cref="Depth"/> rows × <see cref="Width"/> counters held by the
/// servers: estimates over-count by at most ε·N (ε = e / width) with probability 1 − δ (δ = e^−depth).
/// </summary>
public sealed record CountMinOptions
{
    /// <summary>Most items a worker counts between two pushes: per-id counts are 32-bit and must not wrap.</summary>
    public const int MaxBatch = 1 << 30;

    public int Width { get; init; } = 1 << 20;
    public int Depth { get; init; } = 4;
    /// <summary>Items streamed by the whole job.</summary>
    public long Items { get; init; } = 100_000_000;
    /// <summary>Distinct items of the Zipf stream.</summary>
    public int Vocabulary { get; init; } = 1_000_000;
    public double Skew { get; init; } = 1.1;
    /// <summary>
    /// Items a worker counts locally before one push of its whole sketch. Large by default: a push
    /// moves the whole sketch (16 MiB at the default size) whatever the batch.
    /// </summary>
    public int Batch { get; init; } = 1 << 26;
    /// <summary>
    /// Item ids a worker pre-aggregates in its dense count table (4 bytes each); ids beyond go
    /// straight into its local sketch. 0 turns pre-aggregation off: every item is inserted alone.
    /// </summary>
    public int AggregatedIds { get; init; } = 1 << 22;
    /// <summary>Items whose estimates worker 0 checks against exact counts at the end.</summary>
    public int Queries { get; init; } = 1000;
    public ulong Seed { get; init; } = 1;

    public double Epsilon => Math.E / Width;

    public double Delta => Math.Exp(-Depth);

    public void Validate()
    {
        if (Width < 16 || Depth is < 1 or > 32 || (long)Width * Depth > int.MaxValue)
            throw new ArgumentException($"count-min: width {Width} × depth {Depth} must be ≥ 16 × 1 and hold at most {int.MaxValue} counters");
        if (Items < 1 || Vocabulary < 1 || Batch < 1 || Queries < 1)
            throw new ArgumentException("count-min: items, vocabulary, batch and queries must be positive");
        if (Batch > MaxBatch)
            throw new ArgumentException($"count-min: batch {Batch} is above {MaxBatch} (local counts are 32-bit)");
        if (AggregatedIds < 0)
            throw new ArgumentException($"count-min: aggregated ids must be ≥ 0, got {AggregatedIds}");
        if (!(Skew > 0) || Skew > 100)
            throw new ArgumentException($"count-min: skew must be in (0, 100], got {Skew}");
    }
}
