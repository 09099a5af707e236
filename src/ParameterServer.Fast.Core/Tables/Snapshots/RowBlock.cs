namespace ParameterServer.Fast.Core.Tables.Snapshots;

/// <summary>
/// A reusable batch of whole rows as a snapshot carries them: each row's key, its weights and every
/// updater state value (Adagrad's n, FTRL's z and n, Adam's m, v and bias terms). Exporting and
/// importing a table goes through one block at a time, so a checkpoint of any size needs only one
/// block beside the table.
/// <code>
///   Keys      [k0 k1 ... k(n-1)]                          n ulongs
///   Weights   [row0: w0 .. w(width-1)][row1 ...] ...      n × width floats
///   State(s)  [row0 ...][row1 ...] ...                    one array per state value the updater keeps
/// </code>
/// </summary>
public sealed class RowBlock
{
    /// <summary>
    /// 64 Ki floats (256 KiB) per array: large enough that a write or a checksum per block costs
    /// nothing next to the bytes, small enough that five arrays stay within the 2-core box's L2+L3.
    /// </summary>
    public const int DefaultFloats = 1 << 16;

    private readonly ulong[] _keys;
    private readonly float[] _weights;
    private readonly float[][] _states;

    public RowBlock(int width, int stateCount, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(stateCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stateCount, 4);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Width = width;
        StateCount = stateCount;
        Capacity = capacity;
        int floats = checked(capacity * width);
        _keys = new ulong[capacity];
        _weights = new float[floats];
        _states = new float[stateCount][];
        for (int s = 0; s < stateCount; s++)
            _states[s] = new float[floats];
    }

    /// <summary>A block shaped for <paramref name="table"/>, holding about <paramref name="floatsPerArray"/> floats per array (at least one row).</summary>
    public static RowBlock For(Table table, int floatsPerArray = DefaultFloats) =>
        new(table.Width, table.Updater.StateCount, Math.Max(1, floatsPerArray / table.Width));

    public int Width { get; }

    public int StateCount { get; }

    /// <summary>Rows the block can hold.</summary>
    public int Capacity { get; }

    /// <summary>Rows the block holds now.</summary>
    public int Count { get; private set; }

    public Span<ulong> Keys => _keys.AsSpan(0, Count);

    public Span<float> Weights => _weights.AsSpan(0, Count * Width);

    /// <summary>State array <paramref name="index"/> of the rows held.</summary>
    public Span<float> State(int index) => _states[index].AsSpan(0, Count * Width);

    /// <summary>Sets how many rows the block holds, before filling them (a reader decoding rows from a file).</summary>
    public void SetCount(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Capacity);
        Count = count;
    }

    /// <summary>Every key slot, for an exporter filling the block.</summary>
    internal Span<ulong> AllKeys => _keys;
}
