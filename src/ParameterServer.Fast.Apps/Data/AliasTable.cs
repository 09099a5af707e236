using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Apps.Data;

/// <summary>
/// Walker's alias method (Vose's construction): draws outcome k with probability proportional to
/// weight k in O(1): one column chosen uniformly, then a biased coin between the column and its
/// alias. 64 random bits make a draw: the high 32 pick the column (multiply-shift, each column
/// within 1 ± n/2³² of 1/n), the low 32 are the coin, kept when below the column's threshold.
/// Thresholds and aliases are separate 32-bit arrays, the layout of <see cref="Core.Kernels.BucketDrawKernel"/>.
/// </summary>
public sealed class AliasTable
{
    private readonly uint[] _threshold;
    private readonly uint[] _alias;

    public AliasTable(ReadOnlySpan<double> weights)
    {
        if (weights.IsEmpty || weights.Length > int.MaxValue / 2)
            throw new ArgumentException($"an alias table needs 1..{int.MaxValue / 2} weights, got {weights.Length}");
        int n = weights.Length;
        double total = 0;
        foreach (double w in weights)
        {
            if (!(w >= 0) || double.IsInfinity(w))
                throw new ArgumentException($"alias table weights must be finite and ≥ 0, got {w}");
            total += w;
        }
        if (total <= 0)
            throw new ArgumentException("alias table weights must not all be zero");

        var scaled = new double[n];
        var small = new Stack<int>();
        var large = new Stack<int>();
        for (int k = 0; k < n; k++)
        {
            scaled[k] = weights[k] * n / total;
            (scaled[k] < 1 ? small : large).Push(k);
        }
        _threshold = new uint[n];
        _alias = new uint[n];
        while (small.Count > 0 && large.Count > 0)
        {
            int s = small.Pop(), l = large.Pop();
            Set(s, scaled[s], l);
            scaled[l] += scaled[s] - 1;
            (scaled[l] < 1 ? small : large).Push(l);
        }
        // What is left is 1 up to rounding: the column keeps itself whatever the coin says.
        foreach (int k in small.Concat(large))
            Set(k, 1, k);
    }

    public int Count => _threshold.Length;

    /// <summary>Per column: the coin keeps the column when below this.</summary>
    internal uint[] Thresholds => _threshold;

    /// <summary>Per column: the outcome drawn when the coin does not keep the column.</summary>
    internal uint[] Aliases => _alias;

    /// <summary>The outcome for 64 uniform random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Draw(ulong u)
    {
        nint column = (nint)(((u >> 32) * (ulong)(uint)_threshold.Length) >> 32);
        return (uint)u < Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_threshold), column)
            ? (int)column
            : (int)Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_alias), column);
    }

    /// <summary>The probability of <paramref name="outcome"/> as the table draws it (coins are 32-bit).</summary>
    public double Probability(int outcome)
    {
        double p = 0;
        for (int k = 0; k < _threshold.Length; k++)
        {
            double keep = _threshold[k] / 4294967296.0;
            if (k == outcome)
                p += _alias[k] == k ? 1 : keep;
            else if (_alias[k] == outcome)
                p += 1 - keep;
        }
        return p / _threshold.Length;
    }

    private void Set(int column, double keep, int alias)
    {
        _threshold[column] = keep >= 1 ? uint.MaxValue : (uint)Math.Min(uint.MaxValue, Math.Round(keep * 4294967296.0));
        _alias[column] = (uint)alias;
    }
}
