using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Apps.CountMin;

/// <summary>
/// A worker's own count-min sketch: depth rows × width 32-bit counters, row-major, with the same
/// hash functions as the servers' table, so pushing it adds exactly what inserting every item on
/// the servers would have added (sketches are linear). Counters are integers so local counts stay
/// exact however large; they become floats only when copied out for a push. The counters live in
/// a slab with transparent huge pages: random increments over 16 MiB of 4 KiB pages would miss
/// the TLB almost every time (and pay a nested page walk in a virtual machine).
/// </summary>
public sealed class LocalSketch : IDisposable
{
    // Items whose counters are computed before any is incremented: 64 × depth independent
    // increments in flight let the core overlap their cache misses (a 16 MiB sketch is far larger than L2).
    private const int Block = 64;

    private readonly NativeSlab _counters;
    private readonly TiledIncrements _tiled;
    private readonly ulong[] _blockKeys = new ulong[Block];
    private readonly uint[] _blockCounts = new uint[Block];
    private int _blockFill;

    public LocalSketch(SketchHash hash)
    {
        Hash = hash;
        Length = hash.Width * hash.Depth;
        _counters = NativeSlab.Allocate((long)Length * sizeof(uint));
        // Touch every page now, not during the first timed batch.
        Clear();
        // Up to 2 Mi updates (16 MiB) per tiled pass: a flush of the default sketch takes two or three.
        _tiled = new TiledIncrements(Length, Math.Clamp(Length, 4096 * hash.Depth, 1 << 21));
    }

    /// <summary>Keys a single <see cref="AddCounts"/> pass takes; larger calls are split.</summary>
    public int KeysPerPass => _tiled.Capacity / Hash.Depth;

    public SketchHash Hash { get; }

    public int Length { get; }

    public ReadOnlySpan<uint> Counters => _counters.AsSpan<uint>(0, Length);

    /// <summary>Counts <paramref name="count"/> occurrences of <paramref name="key"/> (buffered: call <see cref="Drain"/> before reading).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(ulong key, uint count)
    {
        _blockKeys[_blockFill] = key;
        _blockCounts[_blockFill] = count;
        if (++_blockFill == Block)
            Drain();
    }

    /// <summary>One occurrence of every key: the plain insert loop, without pre-aggregation.</summary>
    public void AddEach(ReadOnlySpan<ulong> keys)
    {
        foreach (ulong key in keys)
            Add(key, 1);
    }

    /// <summary>Adds counts[k] occurrences of keys[k] for every k, tile by tile (see <see cref="TiledIncrements"/>).</summary>
    public void AddCounts(ReadOnlySpan<ulong> keys, ReadOnlySpan<uint> counts)
    {
        if (keys.Length != counts.Length)
            throw new ArgumentException($"{keys.Length} keys but {counts.Length} counts");
        for (int done = 0; done < keys.Length; done += KeysPerPass)
        {
            int n = Math.Min(KeysPerPass, keys.Length - done);
            _tiled.Apply(Hash, keys.Slice(done, n), counts.Slice(done, n), ref _counters.GetReference<uint>());
        }
    }

    /// <summary>Applies the buffered keys to the counters.</summary>
    // Once a batch or on the overflow path: fully optimised at once, not after tiering.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Drain()
    {
        ref uint counters = ref _counters.GetReference<uint>();
        int n = _blockFill;
        for (int row = 0; row < Hash.Depth; row++)
        {
            for (int k = 0; k < n; k++)
                Unsafe.Add(ref counters, Hash.Cell(_blockKeys[k], row)) += _blockCounts[k];
        }
        _blockFill = 0;
    }

    /// <summary>The count-min estimate of <paramref name="key"/>: the smallest of its counters.</summary>
    public uint Estimate(ulong key)
    {
        Drain();
        uint estimate = uint.MaxValue;
        for (int row = 0; row < Hash.Depth; row++)
            estimate = Math.Min(estimate, Counters[Hash.Cell(key, row)]);
        return estimate;
    }

    /// <summary>Copies counters [<paramref name="start"/>, start + destination.Length) as floats, for a push.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void CopyTo(int start, Span<float> destination)
    {
        Drain();
        ReadOnlySpan<uint> source = _counters.AsSpan<uint>(start, destination.Length);
        ref uint s = ref MemoryMarshal.GetReference(source);
        ref float d = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)source.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + (nuint)Vector512<uint>.Count <= n; i += (nuint)Vector512<uint>.Count)
                Vector512.ConvertToSingle(Vector512.LoadUnsafe(ref s, i)).StoreUnsafe(ref d, i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + (nuint)Vector256<uint>.Count <= n; i += (nuint)Vector256<uint>.Count)
                Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref s, i)).StoreUnsafe(ref d, i);
        }
        for (; i < n; i++)
            Unsafe.Add(ref d, i) = Unsafe.Add(ref s, i);
    }

    public void Clear()
    {
        _blockFill = 0;
        _counters.AsSpan<uint>(0, Length).Clear();
    }

    public void Dispose()
    {
        _tiled.Dispose();
        _counters.Dispose();
    }
}
