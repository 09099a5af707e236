using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Apps.Data;

/// <summary>
/// A deterministic stream of items with Zipf frequencies: item i of the stream is a pure function
/// of (seed, i), so any worker can produce any stretch of it and exact counts can be recomputed.
/// Ranks are drawn by inverting a precomputed cumulative distribution (binary search).
/// </summary>
public sealed class ZipfStream
{
    private readonly double[] _cumulative;
    private readonly ulong _seed;

    public ZipfStream(int vocabulary, double skew, ulong seed)
    {
        _seed = seed;
        _cumulative = new double[vocabulary];
        double sum = 0;
        for (int r = 0; r < vocabulary; r++)
        {
            sum += 1 / Math.Pow(r + 1, skew);
            _cumulative[r] = sum;
        }
        for (int r = 0; r < vocabulary; r++)
            _cumulative[r] /= sum;
    }

    /// <summary>Item <paramref name="index"/> of the stream, as a key spread over uint64.</summary>
    public ulong Item(long index)
    {
        double u = (KeyHash.Mix((ulong)index ^ (_seed * 0xD1B54A32D192ED03UL)) >> 11) * (1.0 / (1UL << 53));
        int i = Array.BinarySearch(_cumulative, u);
        int rank = Math.Min(i < 0 ? ~i : i, _cumulative.Length - 1);
        return KeyHash.Mix((ulong)rank + (_seed << 40));
    }
}
