using ParameterServer.Fast.Cluster.Consistency;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// One table as a server holds it: a <see cref="Table"/> per range of the table assigned to this
/// server (in key order), the workers' clocks over the table's key space, and the pulls waiting
/// for them. Owned by the server's inbox thread.
/// </summary>
internal sealed class ServerTable : IDisposable
{
    private readonly List<(KeyRange Range, Table Table)> _parts = [];

    public ServerTable(TableLayout layout, int workers)
    {
        Layout = layout;
        Clocks = new RangeClocks(layout.Spec.Range, workers);
        Gate = new BoundedDelayGate<PendingPull>(Clocks);
    }

    public TableLayout Layout { get; private set; }

    public RangeClocks Clocks { get; }

    public BoundedDelayGate<PendingPull> Gate { get; }

    /// <summary>Slots of the key lists workers repeat (by signature), so repeats skip the lookup.</summary>
    public SlotCache Slots { get; } = new();

    /// <summary>The parts in key order (a list, so iterating it allocates no enumerator on the request path).</summary>
    public List<(KeyRange Range, Table Table)> Parts => _parts;

    /// <summary>Creates the parts this server newly holds (existing parts are kept with their data).</summary>
    /// <summary>Whether any range of this table ever had a backup: then pushes are checked for retries.</summary>
    public bool Replicated { get; private set; }

    public void Apply(TableLayout layout, int server)
    {
        Layout = layout;
        Replicated |= layout.Ranges.Any(a => a.Chain.Length > 1);
        Slots.Clear();
        foreach (RangeAssignment a in layout.Ranges)
        {
            // A range may lie within a part held from an earlier map (ranges are only ever split).
            if (!a.Chain.Contains(server) || _parts.Any(p => p.Range.Contains(a.Range)))
                continue;
            _parts.Add((a.Range, Table.Create(layout.Spec, a.Range)));
        }
        _parts.Sort((x, y) => x.Range.Begin.CompareTo(y.Range.Begin));
    }

    /// <summary>
    /// The part holding <paramref name="range"/> (one held from an earlier map may be wider),
    /// created empty when this server does not hold it yet: a range being copied here before any
    /// map names this server in its chain.
    /// </summary>
    public Table EnsurePart(KeyRange range)
    {
        foreach ((KeyRange r, Table t) in _parts)
        {
            if (r.Contains(range))
                return t;
            if (!r.Intersect(range).IsEmpty)
                throw new InvalidOperationException($"table '{Layout.Spec.Name}': range {range} overlaps the part {r} held here");
        }
        Table table = Table.Create(Layout.Spec, range);
        _parts.Add((range, table));
        _parts.Sort((x, y) => x.Range.Begin.CompareTo(y.Range.Begin));
        Slots.Clear();
        return table;
    }

    /// <summary>The part holding all of <paramref name="range"/>: the rows of one range of the map are in one part.</summary>
    public Table PartHolding(KeyRange range)
    {
        foreach ((KeyRange r, Table t) in _parts)
        {
            if (r.Contains(range))
                return t;
        }
        throw new ArgumentOutOfRangeException(nameof(range), $"table '{Layout.Spec.Name}': range {range} is not held here in one part");
    }

    /// <summary>Fills <paramref name="slices"/> with each part the sorted keys fall in and the slice of keys for it.</summary>
    public void Slice(ReadOnlySpan<ulong> keys, List<(Table Table, int Start, int Length)> slices)
    {
        slices.Clear();
        int covered = 0;
        foreach ((KeyRange range, Table table) in _parts)
        {
            (int start, int length) = KeySet.Slice(keys, range);
            if (length == 0)
                continue;
            slices.Add((table, start, length));
            covered += length;
        }
        if (covered != keys.Length)
        {
            ulong stray = FirstUnheld(keys);
            throw new ArgumentOutOfRangeException(nameof(keys), $"table '{Layout.Spec.Name}': key {stray} is not held by this server");
        }
    }

    /// <summary>Throws unless this server holds every key of <paramref name="range"/> (parts are disjoint, so their overlaps add up).</summary>
    public void CheckHeld(KeyRange range)
    {
        ulong held = 0;
        foreach ((KeyRange part, _) in _parts)
            held += part.Intersect(range).Size;
        if (held != range.Size)
            throw new ArgumentOutOfRangeException(nameof(range), $"table '{Layout.Spec.Name}': range {range} is not all held by this server (table range {Layout.Spec.Range})");
    }

    private ulong FirstUnheld(ReadOnlySpan<ulong> keys)
    {
        foreach (ulong k in keys)
        {
            if (!_parts.Any(p => p.Range.Contains(k)))
                return k;
        }
        return 0;
    }

    public void Dispose()
    {
        foreach ((_, Table t) in _parts)
            t.Dispose();
        _parts.Clear();
    }
}

/// <summary>A pull held back by the bounded-delay gate, with its keys kept.</summary>
internal sealed record PendingPull(Transport.Connections.IConnection Connection, ulong RequestId, uint Sender, ulong[]? Keys, KeyRange? Range, long ArrivedTicks);
