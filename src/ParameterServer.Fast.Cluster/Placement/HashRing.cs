using System.Text;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Placement;

/// <summary>One contiguous part of a table's key range and the servers that hold it: primary first, then its backups.</summary>
public sealed record RangeAssignment(KeyRange Range, int[] Chain)
{
    public int Primary => Chain[0];
}

/// <summary>
/// Consistent hashing with virtual nodes (the paper's §4.3), over failure domains. A domain is a
/// set of servers that fail together: the shards of one server process (or servers an operator
/// groups, a machine or a rack); a server that names none is a domain of its own. Each domain is
/// hashed to <see cref="VirtualNodes"/> points on a ring of 2^64 positions; the arc from a point
/// to the next belongs to that point's domain, and within the domain to one of its servers: the
/// domain's points in ring order are dealt out in equal runs, one run per server, so each shard
/// owns an equal share of its domain's arcs, next to each other, and a sparse request splits into
/// hardly more parts with shards than without. A table's key range is laid over the ring proportionally, so
/// every domain holds a few contiguous ranges of every table: range push/pull stays cheap, and a
/// domain joining or leaving moves only the arcs next to its points. A range's replica chain is
/// its owner followed by one server of each next distinct domain clockwise: a chain keeps its
/// copies apart, and losing a domain costs each chain at most one member.
/// </summary>
public sealed class HashRing
{
    private readonly (ulong Position, string Domain)[] _points;
    private readonly Dictionary<string, int[]> _members;
    private readonly Dictionary<string, ulong[]> _domainPoints;
    private readonly Func<int, string> _domainOf;

    /// <param name="domainOf">The failure domain of a server; null puts every server in a domain of its own.</param>
    public HashRing(IEnumerable<int> servers, int virtualNodes = 16, Func<int, string>? domainOf = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(virtualNodes, 1);
        VirtualNodes = virtualNodes;
        _domainOf = domainOf ?? OwnDomain;
        _members = servers.Distinct().GroupBy(_domainOf).ToDictionary(g => g.Key, g => g.Order().ToArray());
        if (_members.Count == 0)
            throw new ArgumentException("a ring needs at least one server");
        // A domain has a point per virtual node, and at least 4 per server, so that each of many
        // shards still holds a few arcs (one arc of random length would leave their loads uneven).
        _domainPoints = _members.ToDictionary(d => d.Key, d => Enumerable.Range(0, PointsOf(d.Value.Length, virtualNodes)).Select(v => PointOf(d.Key, d.Value, v)).Order().ToArray());
        _points = [.. _domainPoints.SelectMany(d => d.Value.Select(p => (p, d.Key))).OrderBy(p => p.Item1)];
        Servers = _members.Values.Sum(m => m.Length);
        Domains = _members.Count;
    }

    /// <summary>The failure domain of a server that names none: its own.</summary>
    public static string OwnDomain(int server) => $"#{server}";

    public int VirtualNodes { get; }

    public int Servers { get; }

    /// <summary>Distinct failure domains among the servers: the longest a chain can be.</summary>
    public int Domains { get; }

    public string DomainOf(int server) => _domainOf(server);

    /// <summary>The parts of <paramref name="range"/> in key order, adjacent parts of one chain merged.</summary>
    public List<RangeAssignment> Partition(KeyRange range, int replicas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        int chainLength = Math.Min(replicas, Domains);
        var parts = new List<RangeAssignment>();
        // The arc [0, first point) wraps around to the last point's domain.
        ulong previous = 0;
        for (int i = 0; i <= _points.Length; i++)
        {
            ulong end = i < _points.Length ? _points[i].Position : ulong.MaxValue;
            int owner = i == 0 ? _points.Length - 1 : i - 1;
            ulong b = Scale(range, previous), e = i < _points.Length ? Scale(range, end) : range.End;
            if (e > b)
                Add(parts, new KeyRange(b, e), Chain(owner, previous, chainLength));
            previous = end;
        }
        return parts;
    }

    /// <summary>
    /// One server of each distinct domain clockwise from the arc that holds <paramref name="key"/>
    /// of <paramref name="range"/>, the one that would hold the key in each: the order a chain for
    /// that key is built in.
    /// </summary>
    public IEnumerable<int> Clockwise(KeyRange range, ulong key)
    {
        (int owner, ulong arcStart) = Arc(range, key);
        return Chain(owner, arcStart, Domains);
    }

    /// <summary>
    /// The server a chain of <paramref name="range"/> that starts at <paramref name="key"/> takes
    /// as its next member: from the next domain clockwise that no member of <paramref name="chain"/>
    /// is in, the server that would hold the key, or the next of that domain <paramref name="eligible"/>
    /// admits; −1 when there is none. A rebuilt chain is the one the ring would give without the dead.
    /// </summary>
    public int NextMember(KeyRange range, ulong key, IReadOnlyCollection<int> chain, Func<int, bool> eligible)
    {
        var taken = chain.Select(_domainOf).ToHashSet();
        (int owner, ulong arcStart) = Arc(range, key);
        foreach (string domain in DomainsFrom(owner))
        {
            if (taken.Contains(domain))
                continue;
            int[] members = _members[domain];
            int first = ShardAt(domain, arcStart);
            for (int k = 0; k < members.Length; k++)
            {
                int server = members[(first + k) % members.Length];
                if (!chain.Contains(server) && eligible(server))
                    return server;
            }
        }
        return -1;
    }

    // The point that owns the key (the last whose scaled position is at or below it; none wraps
    // to the last point, whose arc then starts at 0) and the ring position the arc starts at.
    private (int Owner, ulong ArcStart) Arc(KeyRange range, ulong key)
    {
        int lo = 0, hi = _points.Length - 1, owner = -1;
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
        return owner < 0 ? (_points.Length - 1, 0) : (owner, _points[owner].Position);
    }

    private IEnumerable<string> DomainsFrom(int pointIndex)
    {
        var seen = new HashSet<string>();
        for (int k = 0; k < _points.Length && seen.Count < Domains; k++)
        {
            string domain = _points[(pointIndex + k) % _points.Length].Domain;
            if (seen.Add(domain))
                yield return domain;
        }
    }

    // One server of each distinct domain clockwise from a point: the one holding the arc that starts at arcStart.
    private int[] Chain(int pointIndex, ulong arcStart, int length)
    {
        var chain = new List<int>(length);
        foreach (string domain in DomainsFrom(pointIndex))
        {
            if (chain.Count == length)
                break;
            chain.Add(_members[domain][ShardAt(domain, arcStart)]);
        }
        return [.. chain];
    }

    // The server of a domain that holds an arc starting at `position`: the domain's last point at
    // or before it (none: its last point, around the ring) dealt to servers in equal runs.
    private int ShardAt(string domain, ulong position)
    {
        ulong[] points = _domainPoints[domain];
        int at = Array.BinarySearch(points, position);
        int index = at >= 0 ? at : ~at - 1;
        if (index < 0)
            index = points.Length - 1;
        return (int)((long)index * _members[domain].Length / points.Length);
    }

    private static int PointsOf(int members, int virtualNodes) => members == 1 ? virtualNodes : Math.Max(virtualNodes, 4 * members);

    // A server of its own domain keeps the points it always had; a named domain's points come
    // from its name, so they do not move as its shards come and go.
    private static ulong PointOf(string domain, int[] members, int virtualNode) =>
        members.Length == 1 && domain == OwnDomain(members[0])
            ? KeyHash.Mix(((ulong)members[0] << 32) | (uint)virtualNode)
            : KeyHash.Mix(NameHash(domain) + (ulong)virtualNode);

    // FNV-1a over the name's UTF-8 bytes.
    private static ulong NameHash(string name)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(name))
            h = (h ^ b) * 1099511628211UL;
        return h;
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
