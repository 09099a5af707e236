namespace ParameterServer.Fast.Codec.Tests;

/// <summary>Deterministic inputs shared by the tests.</summary>
internal static class TestData
{
    /// <summary>Sorted unique keys whose gaps are floor(Pareto(x_m = <paramref name="scale"/>, α = <paramref name="alpha"/>)), at least 1.</summary>
    public static ulong[] PowerLawKeys(Random rng, int count, double scale = 1, double alpha = 1.1, ulong start = 0)
    {
        var keys = new ulong[count];
        ulong k = start;
        for (int i = 0; i < count; i++)
        {
            double u = 1.0 - rng.NextDouble();
            double gap = Math.Floor(scale * Math.Pow(u, -1.0 / alpha));
            k += (ulong)Math.Clamp(gap, 1, 1e15);
            keys[i] = k;
        }
        return keys;
    }

    /// <summary>Sorted unique keys spread anywhere in u64 (gaps of any size, raw is smallest).</summary>
    public static ulong[] RandomKeys(Random rng, int count)
    {
        var keys = new ulong[count];
        for (int i = 0; i < count; i++)
            keys[i] = (ulong)rng.NextInt64() ^ ((ulong)rng.Next(2) << 63);
        int n = Core.Keys.KeySet.SortUnique(keys);
        return keys[..n];
    }

    public static float[] Floats(Random rng, int count, double zeroFraction = 0)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++)
            v[i] = rng.NextDouble() < zeroFraction ? 0f : (float)((rng.NextDouble() * 2) - 1);
        return v;
    }
}
