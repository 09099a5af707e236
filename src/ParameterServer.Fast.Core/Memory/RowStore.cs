using System.Runtime.CompilerServices;

namespace ParameterServer.Fast.Core.Memory;

/// <summary>
/// The rows of one table: weights and up to four updater state arrays, each a slab of
/// rows × width floats (structure of arrays, so a contiguous range is one SIMD stream per array).
/// <code>
///   weights  [row0: w0 .. w(width-1)][row1 ...] ...   reserved for MaxRows, committed as rows are added
///   state 0  [row0 ...][row1 ...] ...                  only as many state arrays as the updater uses
/// </code>
/// Rows never move once created: slot indices and pointers stay valid while the store grows.
/// </summary>
public sealed unsafe class RowStore : IDisposable
{
    private readonly NativeSlab _weights;
    private readonly NativeSlab[] _states;

    public RowStore(int width, int stateCount, long maxRows, SlabOptions options = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(stateCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stateCount, 4);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        Width = width;
        MaxRows = maxRows;
        long bytes = checked(maxRows * width * sizeof(float));
        _weights = NativeSlab.Reserve(bytes, options);
        // Only the weights are ever sent (pull answers); state arrays stay unannounced, so a
        // device pins no memory that never leaves the server.
        _weights.AnnounceAsPinned();
        _states = new NativeSlab[stateCount];
        for (int i = 0; i < stateCount; i++)
            _states[i] = NativeSlab.Reserve(bytes, options);
    }

    public int Width { get; }

    public int StateCount => _states.Length;

    public long MaxRows { get; }

    /// <summary>Rows that can be addressed now.</summary>
    public long CommittedRows { get; private set; }

    public long BytesHeld
    {
        get
        {
            long total = _weights.CommittedBytes;
            foreach (NativeSlab s in _states)
                total += s.CommittedBytes;
            return total;
        }
    }

    /// <summary>Makes rows [0, rows) addressable (zero-filled when new); never moves existing rows.</summary>
    public void EnsureRows(long rows)
    {
        if (rows <= CommittedRows)
            return;
        if (rows > MaxRows)
            throw new InvalidOperationException($"table is full: {rows} rows asked, {MaxRows} reserved");
        // Grow by 1/32 at least, so adding rows one by one is amortised O(1).
        rows = Math.Min(MaxRows, Math.Max(rows, CommittedRows + (CommittedRows >> 5)));
        long bytes = rows * Width * sizeof(float);
        _weights.EnsureCommitted(bytes);
        foreach (NativeSlab s in _states)
            s.EnsureCommitted(bytes);
        CommittedRows = Math.Min(MaxRows, _weights.CommittedBytes / (Width * sizeof(float)));
    }

    public float* Weights => (float*)_weights.Pointer;

    /// <summary>The address of the weights (the slab announced to <see cref="PinnedRegions"/>), for diagnostics and tests.</summary>
    public nint WeightsAddress => _weights.Address;

    /// <summary>State array <paramref name="index"/>, or null when the updater keeps fewer.</summary>
    public float* State(int index) => index < _states.Length ? (float*)_states[index].Pointer : null;

    public ref float WeightRef => ref Unsafe.AsRef<float>(Weights);

    public ref float StateRef(int index) => ref Unsafe.AsRef<float>(State(index));

    /// <summary>Brings the first cache line of a row's weights in (see <see cref="Prefetch"/>).</summary>
    public void PrefetchRow(long row) => Prefetch.Read(ref Unsafe.Add(ref WeightRef, (nint)(row * Width)));

    /// <summary>The weights of rows [firstRow, firstRow + rows).</summary>
    public Span<float> WeightRows(long firstRow, int rows) => _weights.AsSpan<float>(firstRow * Width, checked(rows * Width));

    /// <summary>
    /// The weights of rows [firstRow, firstRow + rows) as bytes in the slab itself, for a send from
    /// in place that finishes before the rows change; false when they lie beyond a
    /// <see cref="ReadOnlyMemory{T}"/>'s 2 GiB reach.
    /// </summary>
    public bool TryGetWeightBytes(long firstRow, int rows, out ReadOnlyMemory<byte> bytes)
    {
        long start = checked(firstRow * Width * sizeof(float));
        long length = checked((long)rows * Width * sizeof(float));
        bytes = default;
        return length <= int.MaxValue && _weights.TryGetMemory(start, (int)length, out bytes);
    }

    /// <summary>State array <paramref name="index"/> of rows [firstRow, firstRow + rows).</summary>
    public Span<float> StateRows(int index, long firstRow, int rows) => _states[index].AsSpan<float>(firstRow * Width, checked(rows * Width));

    public void Dispose()
    {
        _weights.Dispose();
        foreach (NativeSlab s in _states)
            s.Dispose();
    }
}
