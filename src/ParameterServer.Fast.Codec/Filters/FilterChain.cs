namespace ParameterServer.Fast.Codec.Filters;

/// <summary>
/// Filters applied in order, each to what the previous kept: e.g. KKT, then zeros, then
/// significantly-modified (put carrying filters last, so they only carry what would travel).
/// </summary>
public sealed class FilterChain(params IPushFilter[] filters) : IPushFilter
{
    private readonly IPushFilter[] _filters = [.. filters];

    public int Apply(Span<ulong> keys, Span<float> values, int width)
    {
        int n = keys.Length;
        foreach (IPushFilter f in _filters)
            n = f.Apply(keys[..n], values[..(n * width)], width);
        return n;
    }
}
