using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Apps.CountMin;

/// <summary>
/// Pre-aggregation on the worker (the paper's §5.3): exact counts per item id in a dense array,
/// flushed into the local sketch once per batch, so a frequent item costs its depth counter
/// updates once per batch instead of once per occurrence. Under a Zipf law the head of the array,
/// which takes most of the stream, stays in L1/L2; with 1.1 skew over a million ids a batch of
/// 50 M items flushes about 940 K distinct ids instead of inserting 50 M items into a 16 MiB sketch.
/// Ids at or above <see cref="Capacity"/> (very large vocabularies) go straight into the sketch.
/// The counts live in a huge-page slab, touched up front, like the sketch's counters.
/// </summary>
public sealed class ItemCounts : IDisposable
{
    private readonly NativeSlab _slab;
    // The flush gathers (key, count) pairs here, one tiled pass of the sketch at a time.
    private readonly ulong[] _keys;
    private readonly uint[] _amounts;

    /// <param name="capacity">Ids counted here; larger ids go straight into the sketch.</param>
    /// <param name="keysPerFlushPass">The sketch's <see cref="LocalSketch.KeysPerPass"/>.</param>
    public ItemCounts(int capacity, int keysPerFlushPass)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(keysPerFlushPass, 1);
        Capacity = capacity;
        _slab = NativeSlab.Allocate((long)capacity * sizeof(uint));
        // Every page touched now, not during the first timed batch.
        _slab.AsSpan<uint>(0, capacity).Clear();
        _keys = GC.AllocateUninitializedArray<ulong>(keysPerFlushPass);
        _amounts = GC.AllocateUninitializedArray<uint>(keysPerFlushPass);
        _keys.AsSpan().Clear();
        _amounts.AsSpan().Clear();
    }

    public int Capacity { get; }

    public void Dispose() => _slab.Dispose();

    /// <summary>
    /// Counts items [<paramref name="start"/>, <paramref name="end"/>) of the stream. 32-bit counts
    /// cannot wrap as long as fewer than 2³² items are counted between flushes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Count(ZipfStream stream, long start, long end, LocalSketch overflow)
    {
        ref uint counts = ref _slab.GetReference<uint>();
        uint capacity = (uint)Capacity;
        // 256 ids a block: drawn together (in vector lanes), then counted; 1 KiB stays in L1.
        Span<int> ids = stackalloc int[256];
        for (long i = start; i < end; i += ids.Length)
        {
            Span<int> block = ids[..(int)Math.Min(ids.Length, end - i)];
            stream.Ids(i, block);
            foreach (int id in block)
            {
                if ((uint)id < capacity)
                    Unsafe.Add(ref counts, id)++;
                else
                    overflow.Add(stream.Key(id), 1);
            }
        }
    }

    /// <summary>Adds every counted id to <paramref name="sketch"/> and zeroes the counts; returns the distinct ids flushed.</summary>
    // Runs once a batch: fully optimised at once, not after tiering.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int FlushInto(ZipfStream stream, LocalSketch sketch)
    {
        if (_keys.Length != sketch.KeysPerPass)
            throw new ArgumentException($"these counts were made for flush passes of {_keys.Length} keys, the sketch takes {sketch.KeysPerPass}");
        ref uint counts = ref _slab.GetReference<uint>();
        int n = Capacity, distinct = 0, pending = 0;
        // Blocks of 16 ids: a block of zeros (the unseen tail of a large vocabulary) costs one compare.
        const int Span = 16;
        for (int start = 0; start < n; start += Span)
        {
            int end = Math.Min(n, start + Span);
            if (end - start == Span && Vector512.EqualsAll(Vector512.LoadUnsafe(ref counts, (nuint)start), Vector512<uint>.Zero))
                continue;
            for (int id = start; id < end; id++)
            {
                uint c = Unsafe.Add(ref counts, id);
                if (c == 0)
                    continue;
                _keys[pending] = stream.Key(id);
                _amounts[pending++] = c;
                Unsafe.Add(ref counts, id) = 0;
                distinct++;
                if (pending == sketch.KeysPerPass)
                {
                    sketch.AddCounts(_keys, _amounts);
                    pending = 0;
                }
            }
        }
        sketch.AddCounts(_keys.AsSpan(0, pending), _amounts.AsSpan(0, pending));
        sketch.Drain();
        return distinct;
    }
}
