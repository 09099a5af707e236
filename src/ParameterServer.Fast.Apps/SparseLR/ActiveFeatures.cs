namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>
/// Per block, the features block proximal gradient still updates (positions in the shard's sorted
/// keys, in key order): all of a block's features at first and after each reset, fewer as the KKT
/// filter drops those that stay zero. The curvature bound counts only active features as moving;
/// with the filter on only they are computed, pushed and pulled.
/// </summary>
public sealed class ActiveFeatures
{
    private int[][] _all;
    private readonly int[][] _active;
    private readonly int[] _counts;

    public ActiveFeatures(int[][] blocks)
    {
        _all = blocks;
        _active = [.. blocks.Select(b => (int[])b.Clone())];
        _counts = [.. blocks.Select(b => b.Length)];
    }

    public int Blocks => _all.Length;

    public ReadOnlySpan<int> Of(int block) => _active[block].AsSpan(0, _counts[block]);

    public ReadOnlySpan<int> All(int block) => _all[block];

    /// <summary>Active features over every block.</summary>
    public long Count => _counts.Sum(c => (long)c);

    /// <summary>
    /// Removes for good the features <paramref name="screened"/> marks (by position): ones whose
    /// gradient can never leave the L1 band, so no reset brings them back.
    /// </summary>
    public void Screen(ReadOnlySpan<bool> screened)
    {
        for (int b = 0; b < _all.Length; b++)
        {
            var kept = new List<int>(_all[b].Length);
            foreach (int feature in _all[b])
            {
                if (!screened[feature])
                    kept.Add(feature);
            }
            _all[b] = [.. kept];
            Reset(b);
        }
    }

    /// <summary>Makes every feature of the block active again.</summary>
    public void Reset(int block)
    {
        _all[block].CopyTo(_active[block], 0);
        _counts[block] = _all[block].Length;
    }

    /// <summary>Makes exactly <paramref name="active"/> (a subset of the block's features, in key order) the block's active features.</summary>
    public void Set(int block, ReadOnlySpan<int> active)
    {
        active.CopyTo(_active[block]);
        _counts[block] = active.Length;
    }

    /// <summary>
    /// Drops the features of <paramref name="round"/> (a list in key order) that are missing from
    /// <paramref name="kept"/> (the ones of them still active, in the same order).
    /// </summary>
    public void Drop(int block, ReadOnlySpan<int> round, ReadOnlySpan<int> kept)
    {
        int[] active = _active[block];
        int count = _counts[block], write = 0, r = 0, k = 0;
        for (int a = 0; a < count; a++)
        {
            int feature = active[a];
            while (r < round.Length && round[r] < feature)
                r++;
            while (k < kept.Length && kept[k] < feature)
                k++;
            bool dropped = r < round.Length && round[r] == feature && !(k < kept.Length && kept[k] == feature);
            if (!dropped)
                active[write++] = feature;
        }
        _counts[block] = write;
    }
}
