using System.Runtime.CompilerServices;

namespace ParameterServer.Fast.Apps.CountMin;

/// <summary>
/// The hash functions of the sketch rows, one independently seeded member per row of a pairwise
/// independent family, which is what the count-min bound needs (Cormode and Muthukrishnan 2005).
/// The family is Dietzfelbinger's vector multiply-add-shift (STACS 1996): the key as two 32-bit
/// halves, h(x) = (a₀·x_lo + a₁·x_hi + b) mod 2⁶⁴, top 32 bits, with a₀, a₁, b uniform 64-bit:
/// strongly universal onto 32 bits. Those bits are scaled to the row width by a multiply-shift,
/// which keeps every column within 1 ± width/2³² of 1/width: three multiplies per row, no division.
/// </summary>
public sealed class SketchHash
{
    private readonly ulong[] _a0, _a1, _b;

    public SketchHash(int depth, int width, ulong seed)
    {
        if (depth < 1 || width < 1 || (long)depth * width > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(depth), $"a sketch needs depth and width ≥ 1 and at most {int.MaxValue} counters, got {depth} × {width}");
        Depth = depth;
        Width = width;
        _a0 = new ulong[depth];
        _a1 = new ulong[depth];
        _b = new ulong[depth];
        ulong state = seed ^ 0x243F6A8885A308D3UL;
        for (int row = 0; row < depth; row++)
        {
            _a0[row] = SplitMix(ref state);
            _a1[row] = SplitMix(ref state);
            _b[row] = SplitMix(ref state);
        }
    }

    public int Depth { get; }

    public int Width { get; }

    /// <summary>The column of <paramref name="key"/> in row <paramref name="row"/>, in [0, width).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Column(ulong key, int row)
    {
        ulong h = (_a0[row] * (uint)key) + (_a1[row] * (key >> 32)) + _b[row];
        return (int)(((h >> 32) * (ulong)(uint)Width) >> 32);
    }

    /// <summary>The counter of <paramref name="key"/> in row <paramref name="row"/> of a row-major sketch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Cell(ulong key, int row) => (row * Width) + Column(key, row);

    // SplitMix64 (Steele, Lea and Flood 2014): well-spread 64-bit seeds for the rows from one seed.
    private static ulong SplitMix(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
