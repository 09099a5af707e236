namespace ParameterServer.Fast.Core.Keys;

/// <summary>One piece of a sliced key list: the keys of <see cref="Range"/> are keys[Start..Start+Length].</summary>
public readonly record struct KeySlice(int Part, KeyRange Range, int Start, int Length);

/// <summary>
/// Slices a sorted key list by a partition of the key space (the servers' ranges) without copying:
/// each part is found with a binary search, so the cost is O(parts · log keys).
/// </summary>
public static class KeySlicer
{
    /// <summary>
    /// Fills <paramref name="slices"/> with one entry per range of <paramref name="partition"/>
    /// (which must be sorted and non-overlapping) and returns how many keys fell outside every range.
    /// </summary>
    public static int Slice(ReadOnlySpan<ulong> keys, ReadOnlySpan<KeyRange> partition, Span<KeySlice> slices)
    {
        if (slices.Length < partition.Length)
            throw new ArgumentException($"need room for {partition.Length} slices, got {slices.Length}", nameof(slices));
        int covered = 0;
        int from = 0;
        for (int p = 0; p < partition.Length; p++)
        {
            KeyRange range = partition[p];
            if (p > 0 && range.Begin < partition[p - 1].End)
                throw new ArgumentException($"partition ranges overlap or are unsorted at {p}: {partition[p - 1]} then {range}");
            ReadOnlySpan<ulong> rest = keys[from..];
            (int start, int length) = KeySet.Slice(rest, range);
            slices[p] = new KeySlice(p, range, from + start, length);
            from += start + length;
            covered += length;
        }
        return keys.Length - covered;
    }
}
