using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Placement;

/// <summary>One contiguous part of a table's key range and the servers that hold it: primary first, then its backups.</summary>
public sealed record RangeAssignment(KeyRange Range, int[] Chain)
{
    public int Primary => Chain[0];
}

/// <summary>
/// Consistent hashing with virtual nodes (the paper's §4.3). Each server is hashed to
/// <see cref="VirtualNodes"/> points on a ring of 2^64 positions; the arc from a point to the next
/// belongs to that point's server. A table's key range is laid over the ring proportionally, so
/// every server holds a few contiguous ranges of every table: range push/pull stays cheap, and a
/// server joining or leaving moves only the arcs next to its points. A range's replica chain is
/// its owner followed by the next distinct servers clockwise.
/// </summary>
public sealed class HashRing
{
    private readonly (ulong Position, int Server)[] _points;

    public HashRing(IEnumerable<int> servers, int virtualNodes = 16)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(virtualNodes, 1);
        VirtualNodes = virtualNodes;
        _points = [.. servers.SelectMany(s => Enumerable.Range(0, virtualNodes).Select(v => (KeyHash.Mix(((ulong)s << 32) | (uint)v), s)))
            .OrderBy(p => p.Item1)];
        if (_points.Length == 0)
            throw new ArgumentException("a ring needs at least one server");
        Servers = _points.Select(p => p.Server).Distinct().Count();
    }

    public int VirtualNodes { get; }

    public int Servers { get; }

    /// <summary>The parts of <paramref name="range"/> in key order, adjacent parts of one chain merged.</summary>
    public List<RangeAssignment> Partition(KeyRange range, int replicas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        int chainLength = Math.Min(replicas, Servers);
        var parts = new List<RangeAssignment>();
        // The arc [0, first point) wraps around to the last point's server.
        ulong previous = 0;
        for (int i = 0; i <= _points.Length; i++)
        {
            ulong end = i < _points.Length ? _points[i].Position : ulong.MaxValue;
            int owner = i == 0 ? _points.Length - 1 : i - 1;
            ulong b = Scale(range, previous), e = i < _points.Length ? Scale(range, end) : range.End;
            if (e > b)
                Add(parts, new KeyRange(b, e), Chain(owner, chainLength));
            previous = end;
        }
        return parts;
    }

    /// <summary>
    /// The distinct servers clockwise from the point that owns <paramref name="key"/> of
    /// <paramref name="range"/>: the order a chain for that key is built in. A chain that lost a
    /// member takes the first of these it does not hold yet, so a rebuilt chain is the one the ring
    /// would give without the dead servers.
    /// </summary>
    public IEnumerable<int> Clockwise(KeyRange range, ulong key)
    {
        // The owner is the last point whose scaled position is at or below the key; none wraps to the last point.
        int lo = 0, hi = _points.Length - 1, owner = _points.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            if (Scale(range, _points[mid].Position) <= key)
            {
                owner = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return Chain(owner, Servers);
    }

    private int[] Chain(int pointIndex, int length)
    {
        var chain = new List<int>(length);
        for (int k = 0; chain.Count < length && k < _points.Length; k++)
        {
            int server = _points[(pointIndex + k) % _points.Length].Server;
            if (!chain.Contains(server))
                chain.Add(server);
        }
        return [.. chain];
    }

    private static void Add(List<RangeAssignment> parts, KeyRange range, int[] chain)
    {
        if (parts.Count > 0 && parts[^1].Chain.AsSpan().SequenceEqual(chain) && parts[^1].Range.End == range.Begin)
            parts[^1] = parts[^1] with { Range = new KeyRange(parts[^1].Range.Begin, range.End) };
        else
            parts.Add(new RangeAssignment(range, chain));
    }

    // Position p of 2^64 mapped into [range.Begin, range.End).
    private static ulong Scale(KeyRange range, ulong position) =>
        range.Begin + (ulong)(((UInt128)range.Size * position) >> 64);
}
