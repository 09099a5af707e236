using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Core.Kernels;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Apps.Data;

/// <summary>
/// A deterministic stream of items with Zipf frequencies, P(id r) ∝ (r + 1)^−skew over a
/// vocabulary of ids 0..V−1 (0 the most frequent). Item i of the stream is a pure function of
/// (seed, i), so any worker can produce any stretch of it and exact counts can be recomputed.
/// <para>
/// Items come dictionary-encoded, as from a tokenised corpus: <see cref="Id"/> is the item's
/// dense id, <see cref="Key"/> the uint64 key it stands for (spread over the whole key space).
/// </para>
/// <para>
/// Sampling is O(1) and touches only a few KiB: the ids are cut into buckets inside which the
/// probability falls by at most 1% (single ids at the head, geometrically wider ones in the
/// tail: about 1,200 buckets for a million ids). An alias table draws a bucket by its exact mass;
/// a uniform id inside it is kept with probability p(id)/p(first id of the bucket), which is
/// ≥ 0.99, so the test is a 32-bit compare 99% of the time and Math.Pow otherwise (rejection
/// sampling: the result is exactly Zipf up to 32-bit coin resolution).
/// </para>
/// </summary>
public sealed class ZipfStream
{
    // 0.99: a rejection (a second draw) at most 1% of the time; a tighter ratio only adds buckets.
    private const double MinKeepRatio = 0.99;

    private readonly BucketDrawKernel _draw;
    private readonly ulong _bucketSeed, _offsetSeed, _keySeed;
    private readonly double _normaliser;

    public ZipfStream(int vocabulary, double skew, ulong seed)
    {
        if (vocabulary < 1)
            throw new ArgumentOutOfRangeException(nameof(vocabulary), $"a Zipf stream needs at least one id, got {vocabulary}");
        if (!(skew > 0) || skew > 100)
            throw new ArgumentOutOfRangeException(nameof(skew), $"the Zipf skew must be in (0, 100], got {skew}");
        Vocabulary = vocabulary;
        Skew = skew;
        Seed = seed;
        _bucketSeed = seed * 0xD1B54A32D192ED03UL;
        _offsetSeed = (seed * 0x9E3779B97F4A7C15UL) ^ 0x5851F42D4C957F2DUL;
        _keySeed = seed << 40;

        // Bucket [first, first + size) keeps p(last)/p(first) = ((first+1)/(first+size))^skew ≥ MinKeepRatio.
        double growth = Math.Pow(MinKeepRatio, -1 / skew) - 1;
        var buckets = new List<(int First, int Size, uint Squeeze)>();
        var weights = new List<double>();
        for (long first = 0; first < vocabulary;)
        {
            long size = Math.Clamp((long)Math.Floor((first + 1) * growth), 1, vocabulary - first);
            double keep = Math.Pow((first + 1.0) / (first + size), skew);
            uint squeeze = size == 1 ? uint.MaxValue : (uint)Math.Floor(keep * uint.MaxValue);
            buckets.Add(((int)first, (int)size, squeeze));
            weights.Add(PowerSum(first + 1, first + size, skew));
            first += size;
        }
        var masses = new AliasTable(CollectionsMarshal.AsSpan(weights));
        _draw = new BucketDrawKernel(masses.Thresholds, masses.Aliases,
            [.. buckets.Select(b => (uint)b.First)], [.. buckets.Select(b => (uint)b.Size)], [.. buckets.Select(b => b.Squeeze)]);
        _normaliser = weights.Sum();
    }

    public int Vocabulary { get; }

    public double Skew { get; }

    public ulong Seed { get; }

    /// <summary>Buckets of the sampler (its tables hold 20 bytes per bucket).</summary>
    public int Buckets => _draw.Buckets;

    /// <summary>The exact probability of id <paramref name="id"/> under the Zipf law.</summary>
    public double Probability(int id) => Math.Pow(id + 1.0, -Skew) / _normaliser;

    /// <summary>The id of item <paramref name="index"/> of the stream.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Id(long index)
    {
        ulong bucketBits = KeyHash.Mix((ulong)index ^ _bucketSeed), offsetBits = KeyHash.Mix((ulong)index ^ _offsetSeed);
        int id = _draw.Draw(bucketBits, offsetBits);
        return id >= 0 ? id : Settle(_draw.Bucket(bucketBits), offsetBits);
    }

    /// <summary>
    /// The ids of items [<paramref name="start"/>, start + ids.Length): the same as <see cref="Id(long)"/>
    /// item by item, 8 at a time in vector lanes where the CPU allows (<see cref="BucketDrawKernel"/>,
    /// about 3× faster here); the rare item whose coin needs the exact test is settled alone.
    /// </summary>
    // Fully optimised from the first call: a worker process lives a few seconds, too short to wait for tiering.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Ids(long start, Span<int> ids)
    {
        _draw.Draw(start, _bucketSeed, _offsetSeed, ids);
        for (int k = 0; k < ids.Length; k++)
        {
            if (ids[k] < 0)
                ids[k] = Id(start + k);
        }
    }

    /// <summary>The uint64 key that id <paramref name="id"/> stands for.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Key(int id) => KeyHash.Mix((ulong)id + _keySeed);

    /// <summary>Item <paramref name="index"/> of the stream as its key.</summary>
    public ulong Item(long index) => Key(Id(index));

    // The rare path: the coin fell above the squeeze, so compare it with the exact ratio, and on
    // rejection draw again inside the same bucket (which keeps the within-bucket law exact).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int Settle(int bucket, ulong x)
    {
        uint first = _draw.First(bucket), squeeze = _draw.Squeeze(bucket);
        int id = _draw.Offset(bucket, x);
        // Each round keeps with probability ≥ 0.99, so 64 rounds all rejecting never happens in practice.
        for (int round = 0; round < 64; round++)
        {
            double coin = (uint)x * (1.0 / 4294967296.0);
            if (coin < Math.Pow((first + 1.0) / (id + 1.0), Skew))
                return id;
            x = KeyHash.Mix(x + 0x9E3779B97F4A7C15UL);
            id = _draw.Offset(bucket, x);
            if ((uint)x < squeeze)
                return id;
        }
        return id;
    }

    // Σ k^−s for k = a..b (1-based): exact for narrow buckets, Euler–Maclaurin for wide ones, which
    // only start far into the tail (a > 6,000 at skew 1.1) where the neglected term is below 1e−20.
    private static double PowerSum(long a, long b, double s)
    {
        if (b - a < 64)
        {
            double sum = 0;
            for (long k = a; k <= b; k++)
                sum += Math.Pow(k, -s);
            return sum;
        }
        double integral = Math.Abs(s - 1) < 1e-12 ? Math.Log((double)b / a) : (Math.Pow(a, 1 - s) - Math.Pow(b, 1 - s)) / (s - 1);
        return integral + ((Math.Pow(a, -s) + Math.Pow(b, -s)) / 2) + (s / 12 * (Math.Pow(a, -s - 1) - Math.Pow(b, -s - 1)));
    }
}
