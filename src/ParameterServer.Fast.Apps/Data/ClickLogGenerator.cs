using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Apps.Data;

/// <summary>
/// Click-log-like data, deterministic by seed: features drawn with power-law (Zipf-like)
/// frequencies from a vocabulary hashed over the whole uint64 key space, a hidden sparse true
/// model (most features irrelevant), and labels drawn from the logistic of the true margin with
/// extra label noise. The same (seed, options) always gives the same examples.
/// </summary>
public sealed record ClickLogGenerator
{
    public int Examples { get; init; } = 100_000;
    public int Vocabulary { get; init; } = 200_000;
    public int FeaturesPerExample { get; init; } = 24;
    /// <summary>Zipf exponent of feature frequencies: 1.1 is click-log-like (a few very common, a long tail).</summary>
    public double Skew { get; init; } = 1.1;
    /// <summary>Fraction of features with a non-zero true weight.</summary>
    public double Relevant { get; init; } = 0.05;
    public double LabelNoise { get; init; } = 0.05;
    public ulong Seed { get; init; } = 1;

    public SparseDataset Generate() => Generate(0, Examples);

    /// <summary>Examples [first, first + count) of the stream (so held-out data is just a later stretch).</summary>
    public SparseDataset Generate(int first, int count)
    {
        double[] cumulative = ZipfCumulative();
        var offsets = new int[count + 1];
        var keys = new List<ulong>(count * FeaturesPerExample);
        var labels = new float[count];
        var row = new ulong[FeaturesPerExample];
        for (int i = 0; i < count; i++)
        {
            var rng = new SplitMix((Seed * 0x9E3779B97F4A7C15UL) ^ (ulong)(first + i));
            int n = 0;
            for (int f = 0; f < FeaturesPerExample; f++)
                row[n++] = FeatureKey(Sample(cumulative, rng.NextDouble()));
            n = KeySet.SortUnique(row.AsSpan(0, n));
            double margin = 0;
            for (int f = 0; f < n; f++)
            {
                keys.Add(row[f]);
                margin += TrueWeight(row[f]);
            }
            double p = 1 / (1 + Math.Exp(-margin));
            bool label = rng.NextDouble() < p;
            if (rng.NextDouble() < LabelNoise)
                label = !label;
            labels[i] = label ? 1 : 0;
            offsets[i + 1] = keys.Count;
        }
        var values = new float[keys.Count];
        Array.Fill(values, 1f);
        return new SparseDataset(offsets, [.. keys], values, labels);
    }

    /// <summary>Feature rank r (0 = most frequent) as a key spread over the whole uint64 space.</summary>
    public ulong FeatureKey(int rank) => KeyHash.Mix(((ulong)rank << 8) ^ Seed ^ 0xC0FFEE);

    /// <summary>The hidden model: a few features strongly predictive either way, the rest zero.</summary>
    public double TrueWeight(ulong key)
    {
        ulong h = KeyHash.Mix(key ^ (Seed * 31));
        double u = (h >> 11) * (1.0 / (1UL << 53));
        if (u >= Relevant)
            return 0;
        double v = (KeyHash.Mix(h) >> 11) * (1.0 / (1UL << 53));
        return (v - 0.5) * 6;
    }

    private double[] ZipfCumulative()
    {
        var c = new double[Vocabulary];
        double sum = 0;
        for (int r = 0; r < Vocabulary; r++)
        {
            sum += 1 / Math.Pow(r + 1, Skew);
            c[r] = sum;
        }
        for (int r = 0; r < Vocabulary; r++)
            c[r] /= sum;
        return c;
    }

    private static int Sample(double[] cumulative, double u)
    {
        int i = Array.BinarySearch(cumulative, u);
        return Math.Min(i < 0 ? ~i : i, cumulative.Length - 1);
    }

    private struct SplitMix(ulong seed)
    {
        private ulong _state = seed;

        public double NextDouble()
        {
            _state += 0x9E3779B97F4A7C15UL;
            return (KeyHash.Mix(_state) >> 11) * (1.0 / (1UL << 53));
        }
    }
}
