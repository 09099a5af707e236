using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>
/// The partition of the features into blocks that block proximal gradient updates one at a time.
/// A feature's block comes from a hash of its key, so blocks hold about equal numbers of features
/// whether keys are hashed over the whole uint64 space (click logs) or small ids (LIBSVM files),
/// and every process computes the same partition with nothing exchanged.
/// </summary>
public readonly record struct FeatureBlocks(int Count)
{
    public int BlockOf(ulong key) => (int)(((UInt128)KeyHash.Mix(key) * (uint)Count) >> 64);

    /// <summary>The positions in <paramref name="sortedKeys"/> of each block's features, each list in key order.</summary>
    public int[][] Split(ReadOnlySpan<ulong> sortedKeys)
    {
        var counts = new int[Count];
        foreach (ulong key in sortedKeys)
            counts[BlockOf(key)]++;
        var blocks = new int[Count][];
        for (int b = 0; b < Count; b++)
            blocks[b] = new int[counts[b]];
        Array.Clear(counts);
        for (int i = 0; i < sortedKeys.Length; i++)
        {
            int b = BlockOf(sortedKeys[i]);
            blocks[b][counts[b]++] = i;
        }
        return blocks;
    }
}
