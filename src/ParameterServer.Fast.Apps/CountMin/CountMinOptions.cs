namespace ParameterServer.Fast.Apps.CountMin;

/// <summary>
/// A count-min sketch of <see cref="Depth"/> rows × <see cref="Width"/> counters held by the
/// servers: estimates over-count by at most ε·N (ε = e / width) with probability 1 − δ (δ = e^−depth).
/// </summary>
public sealed record CountMinOptions
{
    public int Width { get; init; } = 1 << 20;
    public int Depth { get; init; } = 4;
    /// <summary>Items streamed by the whole job.</summary>
    public long Items { get; init; } = 20_000_000;
    /// <summary>Distinct items of the Zipf stream.</summary>
    public int Vocabulary { get; init; } = 1_000_000;
    public double Skew { get; init; } = 1.1;
    /// <summary>Items a worker counts locally before one push of its whole sketch.</summary>
    public int Batch { get; init; } = 2_000_000;
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
    }
}
