using System.Globalization;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Cluster.Protocol;

namespace ParameterServer.Fast.Cli.Reports;

/// <summary>
/// The text of `psf status`: a summary line, then the nodes (state, clock, how long since heard,
/// throughput), then each table's ranges with their replica chains, primary first.
/// <code>
///   job: range map v12, clock 40 (slowest live worker), last checkpoint at clock 30
///        2 servers, 3 workers, 2 replicas; status taken 2026-03-04 05:06:07Z
///
///   NODE       STATE  CLOCK  HEARD   REQ/S   MB/S  ENDPOINT
///   scheduler  live       -  0.0 s       -      -  tcp://127.0.0.1:7070
///   server-0   live      40  0.0 s  12,346   35.0  tcp://127.0.0.1:7100
///   ...
///   servers                         37,037   70.0
///
///   TABLE    RANGE              PRIMARY   BACKUPS
///   weights  [0, 274877906944)  server-0  server-1
/// </code>
/// A table with many ranges (16 virtual nodes per server) shows the first ones and a per-server
/// count of primaries; --ranges lists every one.
/// </summary>
public static class StatusTable
{
    /// <summary>Ranges listed per table unless all are asked for.</summary>
    public const int RangesShown = 12;

    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    public static void Write(ClusterStatus status, TextWriter output, bool allRanges = false)
    {
        string checkpoint = status.LastCheckpointClock >= 0 ? $"last checkpoint at clock {status.LastCheckpointClock}" : "no checkpoint yet";
        output.WriteLine($"job: range map v{status.RangeMapVersion}, clock {status.JobClock} (slowest live worker), {checkpoint}");
        output.WriteLine($"     {status.Servers} servers, {status.Workers} workers, {status.Replicas} replica{(status.Replicas == 1 ? "" : "s")}; status taken {status.Taken.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", s_invariant)}Z");
        output.WriteLine();
        WriteNodes(status, output);
        output.WriteLine();
        WriteRanges(status, output, allRanges);
    }

    private static void WriteNodes(ClusterStatus status, TextWriter output)
    {
        var rows = new List<string[]> { new[] { "NODE", "STATE", "CLOCK", "HEARD", "REQ/S", "MB/S", "ENDPOINT" } };
        IEnumerable<NodeStatus> ordered = status.Nodes.OrderBy(n => n.Role).ThenBy(n => n.Rank);
        foreach (NodeStatus n in ordered)
        {
            bool scheduler = n.Role == NodeRole.Scheduler;
            rows.Add([
                Name(n), n.State.ToString().ToLowerInvariant(), scheduler ? "-" : n.Clock.ToString(s_invariant),
                double.IsNaN(n.SecondsSinceHeard) ? "-" : $"{n.SecondsSinceHeard.ToString("0.0", s_invariant)} s", scheduler ? "-" : n.RequestsPerSecond.ToString("N0", s_invariant),
                scheduler ? "-" : (n.BytesPerSecond / 1e6).ToString("0.0", s_invariant), n.Endpoint,
            ]);
        }
        foreach (NodeRole role in new[] { NodeRole.Server, NodeRole.Worker })
        {
            NodeStatus[] live = [.. status.Nodes.Where(n => n.Role == role && n.State == NodeState.Live)];
            if (live.Length == 0)
                continue;
            rows.Add([
                $"{role.ToString().ToLowerInvariant()}s", $"{live.Length} live", "", "", live.Sum(n => n.RequestsPerSecond).ToString("N0", s_invariant),
                (live.Sum(n => n.BytesPerSecond) / 1e6).ToString("0.0", s_invariant), "",
            ]);
        }
        WriteColumns(output, rows, rightAligned: [2, 3, 4, 5]);
    }

    private static void WriteRanges(ClusterStatus status, TextWriter output, bool allRanges)
    {
        if (status.Tables.Count == 0)
        {
            output.WriteLine("no tables declared yet");
            return;
        }
        Dictionary<int, string> servers = status.Nodes.Where(n => n.Role == NodeRole.Server).ToDictionary(n => (int)n.Id, Name);
        string Server(int id) => servers.TryGetValue(id, out string? name) ? name : $"#{id}";
        var rows = new List<string[]> { new[] { "TABLE", "RANGE", "PRIMARY", "BACKUPS" } };
        var notes = new List<string>();
        foreach (TableStatus table in status.Tables)
        {
            int shown = allRanges ? table.Ranges.Count : Math.Min(RangesShown, table.Ranges.Count);
            for (int i = 0; i < shown; i++)
            {
                RangeStatus r = table.Ranges[i];
                rows.Add([i == 0 ? table.Name : "", r.Range.ToString(), Server(r.Chain[0]), string.Join(", ", r.Chain.Skip(1).Select(Server))]);
            }
            if (shown < table.Ranges.Count)
            {
                string perServer = string.Join(", ", table.Ranges.GroupBy(r => r.Chain[0]).OrderBy(g => g.Key).Select(g => $"{Server(g.Key)} {g.Count()}"));
                notes.Add($"table '{table.Name}': {table.Ranges.Count - shown} more of {table.Ranges.Count} ranges (--ranges lists all); primaries: {perServer}");
            }
        }
        WriteColumns(output, rows, rightAligned: []);
        foreach (string note in notes)
            output.WriteLine(note);
    }

    private static string Name(NodeStatus n) => n.Role == NodeRole.Scheduler ? "scheduler" : $"{n.Role.ToString().ToLowerInvariant()}-{n.Rank}";

    private static void WriteColumns(TextWriter output, List<string[]> rows, int[] rightAligned)
    {
        int columns = rows[0].Length;
        int[] widths = [.. Enumerable.Range(0, columns).Select(c => rows.Max(r => r[c].Length))];
        foreach (string[] row in rows)
        {
            var cells = new string[columns];
            for (int c = 0; c < columns; c++)
                cells[c] = rightAligned.Contains(c) ? row[c].PadLeft(widths[c]) : row[c].PadRight(widths[c]);
            output.WriteLine(string.Join("  ", cells).TrimEnd());
        }
    }
}
