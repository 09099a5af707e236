namespace ParameterServer.Fast.Codec.Filters;

/// <summary>
/// The paper's significantly-modified filter: an entry travels only when what accumulated for it
/// since it last travelled exceeds <see cref="Threshold"/> in some component (max |Δ|); otherwise it
/// is added to a local carry and sent later with whatever comes next. So the server eventually
/// receives every update in full: the carry plus what was sent always equals what was pushed.
/// <para>
/// The carry is kept per key (a dictionary to rows of a growable array): it grows with the worker's
/// working set and then stops allocating. One instance per table and worker; not thread-safe.
/// </para>
/// </summary>
public sealed class SignificantlyModifiedFilter(float threshold) : IPushFilter
{
    private readonly Dictionary<ulong, int> _rows = [];
    private float[] _carry = new float[256];
    private int _width;

    public float Threshold { get; } = threshold >= 0 ? threshold : throw new ArgumentOutOfRangeException(nameof(threshold));

    /// <summary>Keys with something carried (possibly zero after it was sent).</summary>
    public int TrackedKeys => _rows.Count;

    public int Apply(Span<ulong> keys, Span<float> values, int width)
    {
        PushEntries.Check(keys.Length, values.Length, width);
        if (_width == 0)
            _width = width;
        else if (_width != width)
            throw new ArgumentException($"this filter carries rows of width {_width}, not {width}", nameof(width));
        int kept = 0;
        for (int i = 0; i < keys.Length; i++)
        {
            Span<float> row = values.Slice(i * width, width);
            Span<float> carry = CarryOf(keys[i]);
            float largest = 0;
            for (int c = 0; c < width; c++)
            {
                row[c] += carry[c];
                largest = MathF.Max(largest, MathF.Abs(row[c]));
            }
            if (largest > Threshold)
            {
                carry.Clear();
                PushEntries.Move(keys, values, width, i, kept++);
            }
            else
            {
                row.CopyTo(carry);
            }
        }
        return kept;
    }

    /// <summary>What is carried for <paramref name="key"/> (empty when nothing was).</summary>
    public ReadOnlySpan<float> Carried(ulong key) =>
        _rows.TryGetValue(key, out int row) ? _carry.AsSpan(row * _width, _width) : default;

    private Span<float> CarryOf(ulong key)
    {
        if (!_rows.TryGetValue(key, out int row))
        {
            row = _rows.Count;
            if ((row + 1) * _width > _carry.Length)
                Array.Resize(ref _carry, Math.Max(2 * _carry.Length, (row + 1) * _width));
            _rows.Add(key, row);
        }
        return _carry.AsSpan(row * _width, _width);
    }
}
