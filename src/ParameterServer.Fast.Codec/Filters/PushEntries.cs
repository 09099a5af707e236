namespace ParameterServer.Fast.Codec.Filters;

/// <summary>Shared checks and moves of the filters.</summary>
internal static class PushEntries
{
    public static void Check(int keys, int values, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if ((long)keys * width != values)
            throw new ArgumentException($"{keys} keys of width {width} need {(long)keys * width} values, not {values}", nameof(values));
    }

    /// <summary>Moves entry <paramref name="from"/> to position <paramref name="to"/> (to ≤ from).</summary>
    public static void Move(Span<ulong> keys, Span<float> values, int width, int from, int to)
    {
        if (from == to)
            return;
        keys[to] = keys[from];
        values.Slice(from * width, width).CopyTo(values.Slice(to * width, width));
    }
}
