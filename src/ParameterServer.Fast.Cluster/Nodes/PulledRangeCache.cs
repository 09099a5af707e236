using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// The worker's copy of dense ranges it pulled, each with its freshness: the least clock any
/// worker had reached on that range when the servers answered, so the copy holds every update
/// made before that clock. A later pull at clock c under bounded delay τ needs exactly that for
/// clock c − τ, so while freshness ≥ c − τ the copy is a valid answer and no request is sent — the
/// paper's consistency model, applied on the worker. Eventual pulls always ask the servers (a copy
/// would satisfy them forever). Bounded in floats held; past that it starts over. Thread-safe.
/// </summary>
internal sealed class PulledRangeCache(long capacityFloats = 16L << 20)
{
    private readonly Dictionary<(uint Table, KeyRange Range), (float[] Values, long Freshness)> _entries = [];
    private long _floatsHeld;

    public long Hits { get; private set; }

    public bool TryServe(uint table, KeyRange range, long requiredClock, Span<float> destination)
    {
        lock (_entries)
        {
            if (!_entries.TryGetValue((table, range), out var entry) || entry.Freshness < requiredClock || entry.Values.Length != destination.Length)
                return false;
            entry.Values.CopyTo(destination);
            Hits++;
            return true;
        }
    }

    public void Store(uint table, KeyRange range, ReadOnlySpan<float> values, long freshness)
    {
        if (values.Length > capacityFloats)
            return;
        lock (_entries)
        {
            if (_entries.TryGetValue((table, range), out var old))
            {
                if (old.Freshness > freshness)
                    return; // an answer overtaken by a fresher one
                if (old.Values.Length == values.Length)
                {
                    values.CopyTo(old.Values);
                    _entries[(table, range)] = (old.Values, freshness);
                    return;
                }
                _floatsHeld -= old.Values.Length;
                _entries.Remove((table, range));
            }
            if (_floatsHeld + values.Length > capacityFloats)
            {
                _entries.Clear();
                _floatsHeld = 0;
            }
            _entries[(table, range)] = (values.ToArray(), freshness);
            _floatsHeld += values.Length;
        }
    }
}
