namespace ParameterServer.Fast.Apps.SumCheck;

/// <summary>
/// What every worker pushes, as a pure function of (seed, worker, round, row): any process can
/// recompute another worker's increments, so the expected table needs no communication.
/// </summary>
public sealed class SumCheckPlan
{
    private readonly SumCheckOptions _options;

    public SumCheckPlan(SumCheckOptions options)
    {
        options.Validate();
        _options = options;
        SparseKeys = MakeKeys(options.SparseKeys, options.Seed);
    }

    /// <summary>The sparse table's keys: sorted, unique, spread over the whole key space.</summary>
    public ulong[] SparseKeys { get; }

    /// <summary>Whether row <paramref name="index"/> of the sparse keys is pushed by <paramref name="worker"/> in <paramref name="round"/> (about one in four).</summary>
    public bool Touches(int worker, int round, int index) =>
        (Hash(worker, _options.KeyLists > 0 ? round % _options.KeyLists : round, index, 1) & 3) == 0;

    /// <summary>The increment of a touched sparse row: 1..4.</summary>
    public float SparseIncrement(int worker, int round, int index) => 1 + (float)(Hash(worker, round, index, 2) % SumCheckOptions.MaxIncrement);

    /// <summary>The increment of a dense row: 0..2 (every row, every round).</summary>
    public float DenseIncrement(int worker, int round, int row) => Hash(worker, round, row, 3) % 3;

    /// <summary>Fills the keys and values one worker pushes to the sparse table in one round; returns how many.</summary>
    public int SparseRound(int worker, int round, ulong[] keys, float[] values)
    {
        int n = 0;
        for (int i = 0; i < SparseKeys.Length; i++)
        {
            if (!Touches(worker, round, i))
                continue;
            keys[n] = SparseKeys[i];
            values[n++] = SparseIncrement(worker, round, i);
        }
        return n;
    }

    public void DenseRound(int worker, int round, Span<float> values)
    {
        for (int row = 0; row < values.Length; row++)
            values[row] = DenseIncrement(worker, round, row);
    }

    /// <summary>The exact final tables after every round of <paramref name="workers"/> workers (doubles: no rounding at all).</summary>
    public (double[] Sparse, double[] Dense) Expected(int workers)
    {
        var sparse = new double[SparseKeys.Length];
        var dense = new double[_options.DenseKeys];
        for (int w = 0; w < workers; w++)
        {
            for (int r = 0; r < _options.Rounds; r++)
            {
                for (int i = 0; i < sparse.Length; i++)
                {
                    if (Touches(w, r, i))
                        sparse[i] += SparseIncrement(w, r, i);
                }
                for (int row = 0; row < dense.Length; row++)
                    dense[row] += DenseIncrement(w, r, row);
            }
        }
        return (sparse, dense);
    }

    private ulong Hash(int worker, int round, int index, ulong stream) =>
        Mix(_options.Seed ^ Mix(((ulong)(uint)worker << 32 | (uint)round) ^ Mix((ulong)(uint)index << 8 | stream)));

    private static ulong[] MakeKeys(int count, ulong seed)
    {
        // Mix is a bijection, so distinct inputs give distinct keys: count + 1 inputs always
        // suffice, the one extra for the key ulong.MaxValue, which lies outside every table's range.
        var keys = new HashSet<ulong>(count);
        for (ulong i = 0; keys.Count < count && i <= (ulong)count; i++)
        {
            ulong key = Mix(seed * 0x9E3779B97F4A7C15UL + i);
            if (key != ulong.MaxValue)
                keys.Add(key);
        }
        ulong[] sorted = [.. keys];
        Array.Sort(sorted);
        return sorted;
    }

    // SplitMix64's finaliser: every input bit reaches every output bit.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
