using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>
/// A data shard by feature (compressed sparse columns): block proximal gradient works feature by
/// feature, and a column lists the examples a feature occurs in.
/// <code>
///   Keys          [k0 k1 ... k(d-1)]             sorted unique keys of the shard's features
///   ColumnStart   [0  c1 ... nnz]                feature j is entries [ColumnStart[j], ColumnStart[j+1])
///   Rows, Values  [i  x  ...]                    the example and value of each entry
/// </code>
/// </summary>
public sealed class ShardColumns
{
    private ShardColumns(ulong[] keys, int[] columnStart, int[] rows, float[] values, float[] labels)
    {
        Keys = keys;
        ColumnStart = columnStart;
        Rows = rows;
        Values = values;
        Labels = labels;
    }

    public ulong[] Keys { get; }
    public int[] ColumnStart { get; }
    public int[] Rows { get; }
    public float[] Values { get; }
    /// <summary>0 or 1 per example.</summary>
    public float[] Labels { get; }

    public int Features => Keys.Length;

    public int Examples => Labels.Length;

    /// <summary>The position of <paramref name="key"/> in <see cref="Keys"/>, or −1.</summary>
    public int IndexOf(ulong key)
    {
        int i = KeySet.LowerBound(Keys, key);
        return i < Keys.Length && Keys[i] == key ? i : -1;
    }

    public static ShardColumns Build(SparseDataset data)
    {
        ulong[] keys = (ulong[])data.Keys.Clone();
        keys = keys[..KeySet.SortUnique(keys)];
        int entries = data.Keys.Length;
        var column = new int[entries];
        var start = new int[keys.Length + 1];
        for (int e = 0; e < entries; e++)
        {
            column[e] = KeySet.LowerBound(keys, data.Keys[e]);
            start[column[e] + 1]++;
        }
        for (int j = 0; j < keys.Length; j++)
            start[j + 1] += start[j];
        var next = (int[])start.Clone();
        var rows = new int[entries];
        var values = new float[entries];
        for (int i = 0; i < data.Count; i++)
        {
            for (int e = data.Offsets[i]; e < data.Offsets[i + 1]; e++)
            {
                int at = next[column[e]]++;
                rows[at] = i;
                values[at] = data.Values[e];
            }
        }
        return new ShardColumns(keys, start, rows, values, (float[])data.Labels.Clone());
    }
}
