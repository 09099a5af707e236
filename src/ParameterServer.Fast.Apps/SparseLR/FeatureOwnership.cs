using ParameterServer.Fast.Apps.Data;

namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>
/// Which worker counts a feature's weight in the objective: the lowest-ranked one whose shard holds
/// the feature. Shards overlap in features, so each |wⱼ| must be counted by exactly one of them for
/// the workers' shares to add up to λ₁‖w‖₁.
/// </summary>
public static class FeatureOwnership
{
    /// <summary>Per feature of the shard (by position in <paramref name="shardKeys"/>): true when no lower-ranked shard holds it.</summary>
    public static bool[] Owned(SparseDataset train, int rank, int workers, ulong[] shardKeys)
    {
        var owned = new bool[shardKeys.Length];
        Array.Fill(owned, true);
        int lowerShardsEnd = (int)((long)train.Count * rank / workers);
        for (int e = 0; e < train.Offsets[lowerShardsEnd]; e++)
        {
            int j = Array.BinarySearch(shardKeys, train.Keys[e]);
            if (j >= 0)
                owned[j] = false;
        }
        return owned;
    }
}
