namespace ParameterServer.Fast.Codec.Filters;

/// <summary>Drops entries whose values are all zero: a sparse gradient travels without its holes.</summary>
public sealed class ZeroFilter : IPushFilter
{
    public static ZeroFilter Instance { get; } = new();

    public int Apply(Span<ulong> keys, Span<float> values, int width)
    {
        PushEntries.Check(keys.Length, values.Length, width);
        int kept = 0;
        for (int i = 0; i < keys.Length; i++)
        {
            // Both zeros count: -0.0 is what a product with a zero feature often gives.
            ReadOnlySpan<float> row = values.Slice(i * width, width);
            bool zero = width == 1 ? row[0] == 0f : row.IndexOfAnyExcept(0f, -0f) < 0;
            if (zero)
                continue;
            PushEntries.Move(keys, values, width, i, kept++);
        }
        return kept;
    }
}
