using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Operations;

/// <summary>
/// The payload of a StatusReply frame (its extras), encoded like the other control messages
/// (<see cref="ControlMessages"/>): little-endian fields through <see cref="PayloadWriter"/>, and a
/// decoder that checks every enum, count, range and number and throws <see cref="ProtocolException"/>
/// naming the field. A StatusRequest carries nothing; the reply answers its request id.
/// <code>
///   i64 taken (Unix ms) · u32 range-map version · i32 servers · i32 workers · i32 replicas
///   i64 job clock · i64 last checkpoint clock (−1: none)
///   i32 n, n × node:  u32 id · u8 role · i32 rank · str endpoint · u8 state · i64 clock
///                     · f64 seconds since heard (NaN: not connected) · f64 requests/s · f64 bytes/s
///   i32 t, t × table: u32 id · str name · i32 r, r × range: u64 begin · u64 end · i32 c, c × i32 server
/// </code>
/// </summary>
public static class StatusMessages
{
    // Bounds a reply can never exceed: the job limits of JobOptions plus spares, and 2^24 ranges as in a range map.
    private const int MaxNodes = 4096 + 65535 + 4096;
    private const int MaxTables = 1 << 16;
    private const int MaxRanges = 1 << 24;
    private const int MaxChain = 64;

    public static byte[] Encode(ClusterStatus s)
    {
        var w = new PayloadWriter();
        w.I64(s.Taken.ToUnixTimeMilliseconds());
        w.U32(s.RangeMapVersion);
        w.I32(s.Servers);
        w.I32(s.Workers);
        w.I32(s.Replicas);
        w.I64(s.JobClock);
        w.I64(s.LastCheckpointClock);
        w.I32(s.Nodes.Count);
        foreach (NodeStatus n in s.Nodes)
        {
            w.U32(n.Id);
            w.U8((byte)n.Role);
            w.I32(n.Rank);
            w.Str(n.Endpoint);
            w.U8((byte)n.State);
            w.I64(n.Clock);
            w.F64(n.SecondsSinceHeard);
            w.F64(n.RequestsPerSecond);
            w.F64(n.BytesPerSecond);
        }
        w.I32(s.Tables.Count);
        foreach (TableStatus t in s.Tables)
        {
            w.U32(t.Id);
            w.Str(t.Name);
            w.I32(t.Ranges.Count);
            foreach (RangeStatus r in t.Ranges)
            {
                w.U64(r.Range.Begin);
                w.U64(r.Range.End);
                w.I32(r.Chain.Count);
                foreach (int server in r.Chain)
                    w.I32(server);
            }
        }
        return w.Written.ToArray();
    }

    public static ClusterStatus DecodeClusterStatus(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "status");
        long taken = r.I64("taken");
        if (taken < 0 || taken > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            throw new ProtocolException("taken", (ulong)taken, "is not a time");
        uint version = r.U32("range-map version");
        int servers = Bounded(r.I32("servers"), "servers", 0, 4096);
        int workers = Bounded(r.I32("workers"), "workers", 0, 65535);
        int replicas = Bounded(r.I32("replicas"), "replicas", 1, 4096);
        long jobClock = r.I64("job clock");
        long checkpoint = r.I64("last checkpoint clock");
        if (jobClock < 0 || checkpoint < -1)
            throw new ProtocolException($"status: job clock {jobClock} or checkpoint clock {checkpoint} is negative");
        // Each node takes at least 50 bytes, each table 12, each range 20: counts cannot outrun the payload.
        int nodeCount = r.Count("nodes", 50, MaxNodes);
        var nodes = new List<NodeStatus>(nodeCount);
        for (int i = 0; i < nodeCount; i++)
            nodes.Add(ReadNode(ref r));
        int tableCount = r.Count("tables", 12, MaxTables);
        var tables = new List<TableStatus>(tableCount);
        for (int i = 0; i < tableCount; i++)
            tables.Add(ReadTable(ref r));
        r.End();
        return new ClusterStatus
        {
            Taken = DateTimeOffset.FromUnixTimeMilliseconds(taken), RangeMapVersion = version, Servers = servers, Workers = workers,
            Replicas = replicas, JobClock = jobClock, LastCheckpointClock = checkpoint, Nodes = nodes, Tables = tables,
        };
    }

    private static NodeStatus ReadNode(ref PayloadReader r)
    {
        uint id = r.U32("node id");
        byte role = r.U8("node role");
        if (!Enum.IsDefined((NodeRole)role))
            throw new ProtocolException("node role", role, "is not scheduler (1), server (2) or worker (3)");
        int rank = Bounded(r.I32("node rank"), "node rank", 0, int.MaxValue);
        string endpoint = r.Str("node endpoint", 1024);
        byte state = r.U8("node state");
        if (!Enum.IsDefined((NodeState)state))
            throw new ProtocolException("node state", state, "is not live (1), dead (2), done (3) or spare (4)");
        long clock = r.I64("node clock");
        // NaN: a node no connection is open to (dead, drained, a finished worker's closed link).
        double heard = r.F64("seconds since heard");
        if (!double.IsNaN(heard))
            heard = Rate(heard, "seconds since heard");
        double requests = Rate(r.F64("requests per second"), "requests per second");
        double bytes = Rate(r.F64("bytes per second"), "bytes per second");
        return new NodeStatus(id, (NodeRole)role, rank, endpoint, (NodeState)state, clock, heard, requests, bytes);
    }

    private static TableStatus ReadTable(ref PayloadReader r)
    {
        uint id = r.U32("table id");
        string name = r.Str("table name", 128);
        int rangeCount = r.Count("ranges", 20, MaxRanges);
        var ranges = new List<RangeStatus>(rangeCount);
        for (int i = 0; i < rangeCount; i++)
        {
            ulong begin = r.U64("range begin"), end = r.U64("range end");
            if (end <= begin)
                throw new ProtocolException($"status: table '{name}' has an empty or reversed range [{begin}, {end})");
            int chainLength = r.Count("chain length", 4, MaxChain);
            if (chainLength == 0)
                throw new ProtocolException($"status: table '{name}' range [{begin}, {end}) has no server");
            var chain = new int[chainLength];
            for (int c = 0; c < chainLength; c++)
                chain[c] = r.I32("chain server");
            ranges.Add(new RangeStatus(new KeyRange(begin, end), chain));
        }
        return new TableStatus(id, name, ranges);
    }

    private static int Bounded(int value, string field, int min, int max) =>
        value >= min && value <= max ? value : throw new ProtocolException(field, (ulong)(uint)value, $"is not in {min}..{max}");

    private static double Rate(double value, string field) =>
        double.IsFinite(value) && value >= 0 ? value : throw new ProtocolException($"status: {field} must be finite and non-negative, got {value}");
}
