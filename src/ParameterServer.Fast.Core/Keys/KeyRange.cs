namespace ParameterServer.Fast.Core.Keys;

/// <summary>
/// A half-open range of keys [Begin, End). Keys are ordered uint64, so a range is the unit in
/// which servers own parameters, clocks are kept and pushes and pulls are sliced.
/// </summary>
public readonly record struct KeyRange
{
    public KeyRange(ulong begin, ulong end)
    {
        if (end < begin)
            throw new ArgumentException($"key range end {end} is before its begin {begin}");
        Begin = begin;
        End = end;
    }

    public ulong Begin { get; }

    public ulong End { get; }

    /// <summary>Every key: [0, 2^64 - 1). The last key is given up so the size fits in a ulong.</summary>
    public static KeyRange All => new(0, ulong.MaxValue);

    public ulong Size => End - Begin;

    public bool IsEmpty => End == Begin;

    public bool Contains(ulong key) => key >= Begin && key < End;

    public bool Contains(KeyRange other) => other.Begin >= Begin && other.End <= End;

    public bool Overlaps(KeyRange other) => other.Begin < End && Begin < other.End;

    /// <summary>The keys in both ranges (an empty range at the nearer edge when they do not meet).</summary>
    public KeyRange Intersect(KeyRange other)
    {
        ulong begin = Math.Max(Begin, other.Begin);
        ulong end = Math.Min(End, other.End);
        return end <= begin ? new KeyRange(begin, begin) : new KeyRange(begin, end);
    }

    /// <summary>Splits into <paramref name="parts"/> ranges of near-equal size that tile this one.</summary>
    public KeyRange[] Split(int parts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        var result = new KeyRange[parts];
        UInt128 size = Size;
        ulong begin = Begin;
        for (int i = 0; i < parts; i++)
        {
            ulong end = i == parts - 1 ? End : Begin + (ulong)(size * (UInt128)(i + 1) / (UInt128)parts);
            result[i] = new KeyRange(begin, end);
            begin = end;
        }
        return result;
    }

    public override string ToString() => $"[{Begin}, {End})";
}
