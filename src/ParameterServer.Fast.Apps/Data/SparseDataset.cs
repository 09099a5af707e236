namespace ParameterServer.Fast.Apps.Data;

/// <summary>
/// Binary-labelled sparse examples in compressed rows: example i has features
/// Keys[Offsets[i]..Offsets[i+1]) with values Values[...] (sorted unique keys per example).
/// </summary>
public sealed class SparseDataset(int[] offsets, ulong[] keys, float[] values, float[] labels)
{
    public int[] Offsets { get; } = offsets;
    public ulong[] Keys { get; } = keys;
    public float[] Values { get; } = values;
    /// <summary>0 or 1.</summary>
    public float[] Labels { get; } = labels;

    public int Count => Labels.Length;

    public ReadOnlySpan<ulong> KeysOf(int example) => Keys.AsSpan(Offsets[example], Offsets[example + 1] - Offsets[example]);

    public ReadOnlySpan<float> ValuesOf(int example) => Values.AsSpan(Offsets[example], Offsets[example + 1] - Offsets[example]);

    /// <summary>The examples [start, start + count) as their own data set.</summary>
    public SparseDataset Slice(int start, int count)
    {
        int from = Offsets[start], to = Offsets[start + count];
        int[] offsets = new int[count + 1];
        for (int i = 0; i <= count; i++)
            offsets[i] = Offsets[start + i] - from;
        return new SparseDataset(offsets, Keys[from..to], Values[from..to], Labels[start..(start + count)]);
    }

    /// <summary>Worker <paramref name="rank"/>'s share of <paramref name="workers"/>: contiguous, near-equal.</summary>
    public SparseDataset Shard(int rank, int workers)
    {
        int begin = (int)((long)Count * rank / workers), end = (int)((long)Count * (rank + 1) / workers);
        return Slice(begin, end - begin);
    }
}
