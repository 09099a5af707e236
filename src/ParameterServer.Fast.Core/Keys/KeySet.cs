namespace ParameterServer.Fast.Core.Keys;

/// <summary>
/// Checks and searches for key lists. Every push and pull carries keys sorted ascending with no
/// duplicates; that lets a list be sliced by ranges with two binary searches and no copy.
/// </summary>
public static class KeySet
{
    /// <summary>Index of the first key that is not sorted-unique (keys[i] &lt;= keys[i-1]), or -1.</summary>
    public static int FindFirstViolation(ReadOnlySpan<ulong> keys)
    {
        for (int i = 1; i < keys.Length; i++)
        {
            if (keys[i] <= keys[i - 1])
                return i;
        }
        return -1;
    }

    public static bool IsSortedUnique(ReadOnlySpan<ulong> keys) => FindFirstViolation(keys) < 0;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first offending position.</summary>
    public static void Validate(ReadOnlySpan<ulong> keys, string paramName = "keys")
    {
        int i = FindFirstViolation(keys);
        if (i >= 0)
        {
            string what = keys[i] == keys[i - 1] ? "duplicate" : "out of order";
            throw new ArgumentException(
                $"keys must be sorted ascending and unique: key {keys[i]} at index {i} is {what} (previous {keys[i - 1]})",
                paramName);
        }
    }

    /// <summary>The index of the first key &gt;= <paramref name="key"/> (keys.Length when none).</summary>
    public static int LowerBound(ReadOnlySpan<ulong> keys, ulong key)
    {
        int lo = 0, hi = keys.Length;
        while (lo < hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (keys[mid] < key)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

    /// <summary>The position of the keys that fall in <paramref name="range"/>, as (start, length).</summary>
    public static (int Start, int Length) Slice(ReadOnlySpan<ulong> keys, KeyRange range)
    {
        int start = LowerBound(keys, range.Begin);
        int end = range.End == ulong.MaxValue ? keys.Length : start + LowerBound(keys[start..], range.End);
        return (start, end - start);
    }

    /// <summary>Sorts and removes duplicates in place; returns the unique count.</summary>
    public static int SortUnique(Span<ulong> keys)
    {
        if (keys.Length < 2)
            return keys.Length;
        keys.Sort();
        int w = 1;
        for (int r = 1; r < keys.Length; r++)
        {
            if (keys[r] != keys[w - 1])
                keys[w++] = keys[r];
        }
        return w;
    }
}
