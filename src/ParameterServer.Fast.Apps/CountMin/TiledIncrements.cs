using System.Runtime.CompilerServices;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Apps.CountMin;

/// <summary>
/// Adds many (key, amount) pairs to a sketch tile by tile (a radix partition on the counter
/// index): the counter updates are first written in order of their 512 KiB tile, then each tile
/// takes all of its updates while it sits in L2. Writing and reading the updates is sequential,
/// so a flush costs memory bandwidth instead of one cache miss per counter: about 2× faster here
/// than incrementing a 16 MiB sketch in key order.
/// <code>
/// entries: | tile 0 updates | tile 1 updates | ... | tile T−1 updates |      one update = 64 bits:
///          ^tileStart[0]    ^tileStart[1]                               ^tileStart[T]
///  63             32 31              0
/// +-----------------+-----------------+
/// | counter index   |     amount      |
/// +-----------------+-----------------+
/// </code>
/// </summary>
internal sealed class TiledIncrements : IDisposable
{
    // 128 Ki counters = 512 KiB a tile: half the 1 MiB L2 of this machine, the rest for the stream of updates.
    private const int TileBits = 17;

    private readonly NativeSlab _entries;
    private readonly int[] _tileStart;

    public TiledIncrements(int counters, int capacity)
    {
        Capacity = capacity;
        _tileStart = new int[((counters - 1) >> TileBits) + 2];
        _entries = NativeSlab.Allocate((long)Math.Max(1, capacity) * sizeof(ulong));
        _entries.AsSpan<ulong>(0, Math.Max(1, capacity)).Clear();
    }

    /// <summary>Counter updates one call can take: keys × depth.</summary>
    public int Capacity { get; }

    /// <summary>counters[cell(key, row)] += amount for every key and row; keys.Length × depth ≤ <see cref="Capacity"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Apply(SketchHash hash, ReadOnlySpan<ulong> keys, ReadOnlySpan<uint> amounts, ref uint counters)
    {
        if (keys.Length != amounts.Length || (long)keys.Length * hash.Depth > Capacity)
            throw new ArgumentException($"{keys.Length} keys × depth {hash.Depth} do not fit {Capacity} updates, or {amounts.Length} amounts do not match");
        Span<int> start = _tileStart;
        start.Clear();
        // Pass 1: how many updates each tile gets (counted one slot up, then summed into starts).
        for (int row = 0; row < hash.Depth; row++)
        {
            foreach (ulong key in keys)
                start[(hash.Cell(key, row) >> TileBits) + 1]++;
        }
        for (int t = 1; t < start.Length; t++)
            start[t] += start[t - 1];

        // Pass 2: the updates in tile order (start[t] advances to the end of tile t as it fills).
        ref ulong entries = ref _entries.GetReference<ulong>();
        for (int row = 0; row < hash.Depth; row++)
        {
            for (int k = 0; k < keys.Length; k++)
            {
                int cell = hash.Cell(keys[k], row);
                Unsafe.Add(ref entries, start[cell >> TileBits]++) = ((ulong)(uint)cell << 32) | amounts[k];
            }
        }

        // Pass 3: tile by tile, now start[t] is where tile t ends (and so where t + 1 begins).
        int from = 0;
        for (int t = 0; t < start.Length - 1; t++)
        {
            int to = start[t];
            for (int e = from; e < to; e++)
            {
                ulong update = Unsafe.Add(ref entries, e);
                Unsafe.Add(ref counters, (nint)(update >> 32)) += (uint)update;
            }
            from = to;
        }
    }

    public void Dispose() => _entries.Dispose();
}
