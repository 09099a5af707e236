using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;

namespace ParameterServer.Fast.Cluster.Placement;

/// <summary>A declared table: its id on the wire, its spec and which servers hold which ranges.</summary>
public sealed record TableLayout(uint Id, TableSpec Spec, IReadOnlyList<RangeAssignment> Ranges)
{
    /// <summary>The index of the part holding <paramref name="key"/>.</summary>
    public int PartOf(ulong key)
    {
        int lo = 0, hi = Ranges.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (Ranges[mid].Range.Begin <= key)
                lo = mid;
            else
                hi = mid - 1;
        }
        return lo;
    }
}

/// <summary>A server's address in the job.</summary>
public sealed record ServerInfo(int Id, string Endpoint);

/// <summary>
/// The scheduler's versioned picture of the job: servers, live workers, and for every table the
/// range → replica chain assignment. Published to every node whenever it changes.
/// </summary>
public sealed record RangeMap(uint Version, int Workers, IReadOnlyList<bool> LiveWorkers, IReadOnlyList<ServerInfo> Servers, IReadOnlyList<TableLayout> Tables)
{
    /// <summary>The layout of table <paramref name="id"/> (on every request: a plain loop, no allocation).</summary>
    public TableLayout? Table(uint id)
    {
        for (int i = 0; i < Tables.Count; i++)
        {
            if (Tables[i].Id == id)
                return Tables[i];
        }
        return null;
    }

    public TableLayout? Table(string name) => Tables.FirstOrDefault(t => t.Spec.Name == name);

    public ServerInfo Server(int id) => Servers.First(s => s.Id == id);

    /// <summary>The ranges of <paramref name="table"/> that <paramref name="server"/> holds as primary or backup.</summary>
    public IEnumerable<KeyRange> HeldBy(TableLayout table, int server) =>
        table.Ranges.Where(r => r.Chain.Contains(server)).Select(r => r.Range);
}
