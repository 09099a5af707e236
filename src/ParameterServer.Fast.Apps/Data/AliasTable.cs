using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Apps.Data;

/// <summary>
/// Walker's alias method (Vose's construction): draws outcome k with probability proportional to
/// weight k in O(1): one column chosen uniformly, then a biased coin between the column and its alias.
/// Each column is one 64-bit entry, so a draw is one multiply and one load:
/// <code>
///  63            32 31             0
/// +----------------+----------------+
/// |   threshold    |     alias      |   keep the column when coin (32 bits) &lt; threshold
/// +----------------+----------------+
/// </code>
/// </summary>
public sealed class AliasTable
{
    private readonly ulong[] _entries;

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
        _entries = new ulong[n];
        while (small.Count > 0 && large.Count > 0)
        {
            int s = small.Pop(), l = large.Pop();
            _entries[s] = Entry(scaled[s], l);
            scaled[l] += scaled[s] - 1;
            (scaled[l] < 1 ? small : large).Push(l);
        }
        // What is left is 1 up to rounding: the column keeps itself whatever the coin says.
        foreach (int k in small.Concat(large))
            _entries[k] = Entry(1, k);
    }

    public int Count => _entries.Length;

    /// <summary>Bytes of the table: what must stay in cache for draws to cost no memory access.</summary>
    public long Bytes => _entries.Length * sizeof(ulong);

    /// <summary>
    /// The outcome for 64 uniform random bits: the high half of u·n is the column, the low half of
    /// the product (uniform given the column) is the coin.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Draw(ulong u)
    {
        ulong column = Math.BigMul(u, (ulong)_entries.Length, out ulong fraction);
        ulong entry = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_entries), (nint)column);
        return (uint)(fraction >> 32) < (uint)(entry >> 32) ? (int)column : (int)(uint)entry;
    }

    /// <summary>The probability of <paramref name="outcome"/> as the table draws it (thresholds are 32-bit).</summary>
    public double Probability(int outcome)
    {
        double p = 0;
        for (int k = 0; k < _entries.Length; k++)
        {
            double keep = (uint)(_entries[k] >> 32) / 4294967296.0;
            if (k == outcome)
                p += (int)(uint)_entries[k] == k ? 1 : keep;
            else if ((int)(uint)_entries[k] == outcome)
                p += 1 - keep;
        }
        return p / _entries.Length;
    }

    private static ulong Entry(double keep, int alias)
    {
        ulong threshold = keep >= 1 ? uint.MaxValue : (ulong)Math.Min(uint.MaxValue, Math.Round(keep * 4294967296.0));
        return (threshold << 32) | (uint)alias;
    }
}
