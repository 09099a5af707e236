using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Core.Kernels;

/// <summary>
/// Draws from a discrete law whose outcomes come in buckets of consecutive values (Zipf, power
/// laws, any law that varies slowly across a bucket): an alias table picks a bucket by its mass,
/// a uniform offset picks an outcome in it, and a 32-bit coin below the bucket's squeeze keeps it
/// at once; otherwise the draw comes back as −1 for the caller to settle with the exact law (a
/// rejection test the kernel cannot know). Draw k of a stream uses the 128 random bits
/// Mix(k ^ bucketSeed) and Mix(k ^ offsetSeed) (<see cref="KeyHash.Mix"/>):
/// <code>
/// bucket bits:  [ column: high 32 → ⌊hi·n/2³²⌋ | coin: low 32, keep the column when &lt; threshold, else its alias ]
/// offset bits:  [ offset: high 32 → ⌊hi·size/2³²⌋ | coin: low 32, keep first+offset when &lt; squeeze, else −1 ]
/// </code>
/// The tables are validated and pinned when the kernel is made, so the vector path, 8 draws at a
/// time (mixing in AVX-512 lanes, reading the tables with AVX2 gathers), can never read outside
/// them; it gives exactly the scalar path's results.
/// </summary>
public sealed unsafe class BucketDrawKernel
{
    private readonly uint[] _threshold, _alias, _first, _size, _squeeze;

    /// <param name="thresholds">Per bucket (alias column): the coin keeps the column when below this.</param>
    /// <param name="aliases">Per bucket: the bucket drawn when the coin does not keep the column.</param>
    /// <param name="first">Per bucket: its first outcome.</param>
    /// <param name="size">Per bucket: how many consecutive outcomes it holds (≥ 1).</param>
    /// <param name="squeeze">Per bucket: a coin below this keeps the uniform outcome without the exact test.</param>
    public BucketDrawKernel(ReadOnlySpan<uint> thresholds, ReadOnlySpan<uint> aliases, ReadOnlySpan<uint> first, ReadOnlySpan<uint> size, ReadOnlySpan<uint> squeeze)
    {
        int n = thresholds.Length;
        if (n == 0 || aliases.Length != n || first.Length != n || size.Length != n || squeeze.Length != n)
            ThrowTables($"every table needs one entry per bucket, got {thresholds.Length}, {aliases.Length}, {first.Length}, {size.Length} and {squeeze.Length}");
        for (int b = 0; b < n; b++)
        {
            if (aliases[b] >= (uint)n)
                ThrowTables($"bucket {b} has alias {aliases[b]}, outside the {n} buckets");
            if (size[b] == 0 || (ulong)first[b] + size[b] > int.MaxValue)
                ThrowTables($"bucket {b} holds [{first[b]}, {(ulong)first[b] + size[b]}): it must be non-empty and below {int.MaxValue}");
        }
        _threshold = Pinned(thresholds);
        _alias = Pinned(aliases);
        _first = Pinned(first);
        _size = Pinned(size);
        _squeeze = Pinned(squeeze);
    }

    /// <summary>Whether <see cref="Draw(long, ulong, ulong, Span{int})"/> runs 8 draws at a time here.</summary>
    public static bool IsVectorized => Avx2.IsSupported && Vector512.IsHardwareAccelerated;

    public int Buckets => _first.Length;

    public uint First(int bucket) => _first[bucket];

    public uint Size(int bucket) => _size[bucket];

    public uint Squeeze(int bucket) => _squeeze[bucket];

    /// <summary>The bucket the alias table picks for 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Bucket(ulong bucketBits)
    {
        nint column = (nint)(((bucketBits >> 32) * (ulong)(uint)_threshold.Length) >> 32);
        return (uint)bucketBits < Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_threshold), column)
            ? (int)column
            : (int)Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_alias), column);
    }

    /// <summary>The uniform outcome of <paramref name="bucket"/> that the high half of <paramref name="offsetBits"/> names.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Offset(int bucket, ulong offsetBits) =>
        (int)(_first[bucket] + (uint)(((offsetBits >> 32) * _size[bucket]) >> 32));

    /// <summary>One draw: the outcome, or −1 when the coin (low half of <paramref name="offsetBits"/>) is above the squeeze.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Draw(ulong bucketBits, ulong offsetBits)
    {
        int bucket = Bucket(bucketBits);
        return (uint)offsetBits < _squeeze[bucket] ? Offset(bucket, offsetBits) : -1;
    }

    /// <summary>Draws start, start + 1, … of the stream of these seeds into <paramref name="outcomes"/> (−1: settle it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Draw(long start, ulong bucketSeed, ulong offsetSeed, Span<int> outcomes)
    {
        int done = IsVectorized ? DrawVectors(start, bucketSeed, offsetSeed, outcomes) : 0;
        for (int k = done; k < outcomes.Length; k++)
        {
            ulong index = (ulong)(start + k);
            outcomes[k] = Draw(KeyHash.Mix(index ^ bucketSeed), KeyHash.Mix(index ^ offsetSeed));
        }
    }

    // Whole groups of 8; returns how many draws it made. Every gather index is below the table
    // length: columns by the multiply-shift, buckets because aliases were checked on construction.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int DrawVectors(long start, ulong bucketSeed, ulong offsetSeed, Span<int> outcomes)
    {
        int whole = outcomes.Length & ~7;
        var columns = Vector512.Create((ulong)(uint)_threshold.Length);
        var low = Vector512.Create(0xFFFFFFFFUL);
        var bucketSeeds = Vector512.Create(bucketSeed);
        var offsetSeeds = Vector512.Create(offsetSeed);
        var rejected = Vector256.Create(-1);
        var step = Vector512.Create(8UL);
        Vector512<ulong> index = Vector512.Create((ulong)start) + Vector512<ulong>.Indices;
        fixed (uint* threshold = _threshold, alias = _alias, first = _first, size = _size, squeeze = _squeeze)
        fixed (int* output = outcomes)
        {
            for (int k = 0; k < whole; k += 8, index += step)
            {
                Vector512<ulong> u = Mix(index ^ bucketSeeds);
                Vector256<int> column = Low32(((u >> 32) * columns) >> 32).AsInt32();
                Vector256<uint> keep = Avx2.GatherVector256(threshold, column, sizeof(uint));
                Vector256<uint> other = Avx2.GatherVector256(alias, column, sizeof(uint));
                Vector256<int> bucket = Vector256.ConditionalSelect(Vector256.LessThan(Low32(u & low), keep), column.AsUInt32(), other).AsInt32();

                Vector256<uint> from = Avx2.GatherVector256(first, bucket, sizeof(uint));
                Vector256<uint> width = Avx2.GatherVector256(size, bucket, sizeof(uint));
                Vector256<uint> bar = Avx2.GatherVector256(squeeze, bucket, sizeof(uint));
                Vector512<ulong> x = Mix(index ^ offsetSeeds);
                Vector256<int> outcome = (from + Low32(((x >> 32) * Vector512.WidenLower(width.ToVector512())) >> 32)).AsInt32();
                Vector256.ConditionalSelect(Vector256.LessThan(Low32(x & low), bar).AsInt32(), outcome, rejected).Store(output + k);
            }
        }
        return whole;
    }

    // KeyHash.Mix in 8 lanes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Mix(Vector512<ulong> x)
    {
        x ^= x >> 33;
        x *= Vector512.Create(0xff51afd7ed558ccdUL);
        x ^= x >> 33;
        x *= Vector512.Create(0xc4ceb9fe1a85ec53UL);
        return x ^ (x >> 33);
    }

    // The low 32 bits of each 64-bit lane.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Low32(Vector512<ulong> v) => Vector512.Narrow(v, Vector512<ulong>.Zero).GetLower();

    private static uint[] Pinned(ReadOnlySpan<uint> source)
    {
        uint[] copy = GC.AllocateUninitializedArray<uint>(source.Length, pinned: true);
        source.CopyTo(copy);
        return copy;
    }

    [DoesNotReturn]
    private static void ThrowTables(string message) => throw new ArgumentException($"bucket draw tables: {message}");
}
