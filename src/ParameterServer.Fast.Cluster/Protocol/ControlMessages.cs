using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Cluster.Protocol;

/// <summary>
/// A node joining: its role, where it listens ("" for a worker), and for a server the failure
/// domain it shares with others ("" for one of its own): the shards of one process name the same.
/// </summary>
public sealed record RegisterRequest(NodeRole Role, string Endpoint, string Domain = "");

/// <summary>
/// The scheduler's answer: the node's id and rank within its role, and the clock to start from
/// (non-zero for a worker that replaces a dead one and reruns its shard).
/// </summary>
public sealed record RegisterReply(int NodeId, int Rank, long StartClock = 0);

/// <summary>
/// A worker's report: iteration, objective so far, examples processed, and whether it is done;
/// a final report carries the application's named results in <see cref="Metrics"/>.
/// </summary>
public sealed record ProgressReport(int Worker, long Iteration, double Objective, long Examples, double ComputeSeconds, double WaitSeconds, bool Done)
{
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}

/// <summary>
/// Encoding of the control-plane payloads carried in frame extras. Decoders validate every value
/// (enums defined, ranges ordered, counts bounded) and throw <see cref="ProtocolException"/>.
/// </summary>
public static class ControlMessages
{
    /// <summary>The longest failure-domain name a server may register with.</summary>
    public const int MaxDomainLength = 256;

    public static byte[] Encode(RegisterRequest r)
    {
        var w = new PayloadWriter();
        w.U8((byte)r.Role);
        w.Str(r.Endpoint);
        w.Str(r.Domain);
        return w.Written.ToArray();
    }

    public static RegisterRequest DecodeRegisterRequest(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "register");
        byte role = r.U8("role");
        if (!Enum.IsDefined((NodeRole)role) || (NodeRole)role == NodeRole.Scheduler)
            throw new ProtocolException("role", role, "must be server (2) or worker (3)");
        string endpoint = r.Str("endpoint");
        string domain = r.Str("domain");
        if (domain.Length > MaxDomainLength)
            throw new ProtocolException("domain length", (ulong)domain.Length, $"must be at most {MaxDomainLength} characters");
        if (domain.StartsWith('#'))
            throw new ProtocolException($"bad frame: failure domain '{domain}': names beginning with '#' are the servers' own");
        r.End();
        return new RegisterRequest((NodeRole)role, endpoint, domain);
    }

    public static byte[] Encode(RegisterReply r)
    {
        var w = new PayloadWriter();
        w.I32(r.NodeId);
        w.I32(r.Rank);
        w.I64(r.StartClock);
        return w.Written.ToArray();
    }

    public static RegisterReply DecodeRegisterReply(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "register reply");
        var reply = new RegisterReply(r.I32("node id"), r.I32("rank"), r.I64("start clock"));
        r.End();
        return reply;
    }

    public static byte[] Encode(ProgressReport p)
    {
        var w = new PayloadWriter();
        w.I32(p.Worker);
        w.I64(p.Iteration);
        w.F64(p.Objective);
        w.I64(p.Examples);
        w.F64(p.ComputeSeconds);
        w.F64(p.WaitSeconds);
        w.Bool(p.Done);
        w.I32(p.Metrics.Count);
        foreach ((string name, double value) in p.Metrics)
        {
            w.Str(name);
            w.F64(value);
        }
        return w.Written.ToArray();
    }

    public static ProgressReport DecodeProgress(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "progress");
        var p = new ProgressReport(r.I32("worker"), r.I64("iteration"), r.F64("objective"), r.I64("examples"),
            r.F64("compute seconds"), r.F64("wait seconds"), r.Bool("done"));
        int count = r.Count("metrics", 12, 1024);
        var metrics = new Dictionary<string, double>(count);
        for (int i = 0; i < count; i++)
            metrics[r.Str("metric name", 128)] = r.F64("metric value");
        r.End();
        return p with { Metrics = metrics };
    }

    public static byte[] Encode(TableSpec spec)
    {
        var w = new PayloadWriter();
        Write(w, spec);
        return w.Written.ToArray();
    }

    public static TableSpec DecodeTableSpec(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "table spec");
        TableSpec spec = ReadSpec(ref r);
        r.End();
        return spec;
    }

    public static byte[] Encode(RangeMap map)
    {
        var w = new PayloadWriter();
        w.U32(map.Version);
        w.I32(map.Workers);
        for (int i = 0; i < map.Workers; i++)
            w.Bool(map.LiveWorkers[i]);
        w.I32(map.Servers.Count);
        foreach (ServerInfo s in map.Servers)
        {
            w.I32(s.Id);
            w.Str(s.Endpoint);
        }
        w.I32(map.Tables.Count);
        foreach (TableLayout t in map.Tables)
        {
            w.U32(t.Id);
            Write(w, t.Spec);
            w.I32(t.Ranges.Count);
            foreach (RangeAssignment a in t.Ranges)
            {
                w.U64(a.Range.Begin);
                w.U64(a.Range.End);
                w.I32(a.Chain.Length);
                foreach (int s in a.Chain)
                    w.I32(s);
            }
        }
        return w.Written.ToArray();
    }

    public static RangeMap DecodeRangeMap(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "range map");
        uint version = r.U32("version");
        int workers = r.Count("workers", 1, 1 << 16);
        var live = new bool[workers];
        for (int i = 0; i < workers; i++)
            live[i] = r.Bool("live worker");
        int serverCount = r.Count("servers", 8, 1 << 16);
        var servers = new List<ServerInfo>(serverCount);
        for (int i = 0; i < serverCount; i++)
            servers.Add(new ServerInfo(r.I32("server id"), r.Str("server endpoint")));
        int tableCount = r.Count("tables", 8, 1 << 16);
        var tables = new List<TableLayout>(tableCount);
        for (int i = 0; i < tableCount; i++)
        {
            uint id = r.U32("table id");
            TableSpec spec = ReadSpec(ref r);
            int parts = r.Count("ranges", 20, 1 << 24);
            var ranges = new List<RangeAssignment>(parts);
            ulong previousEnd = spec.Range.Begin;
            for (int p = 0; p < parts; p++)
            {
                ulong begin = r.U64("range begin"), end = r.U64("range end");
                if (end <= begin || begin != previousEnd || end > spec.Range.End)
                    throw new ProtocolException($"range map: table '{spec.Name}' range [{begin}, {end}) does not continue its partition at {previousEnd}");
                previousEnd = end;
                int chainLength = r.Count("chain length", 4, servers.Count);
                if (chainLength == 0)
                    throw new ProtocolException($"range map: table '{spec.Name}' range [{begin}, {end}) has no server");
                var chain = new int[chainLength];
                for (int c = 0; c < chainLength; c++)
                {
                    chain[c] = r.I32("chain server");
                    if (!servers.Any(s => s.Id == chain[c]))
                        throw new ProtocolException($"range map: table '{spec.Name}' names unknown server {chain[c]}");
                }
                ranges.Add(new RangeAssignment(new KeyRange(begin, end), chain));
            }
            if (parts > 0 && previousEnd != spec.Range.End)
                throw new ProtocolException($"range map: table '{spec.Name}' partition stops at {previousEnd}, before {spec.Range.End}");
            tables.Add(new TableLayout(id, spec, ranges));
        }
        r.End();
        return new RangeMap(version, workers, live, servers, tables);
    }

    private static void Write(PayloadWriter w, TableSpec spec)
    {
        w.Str(spec.Name);
        w.U8((byte)spec.Kind);
        w.I32(spec.Width);
        w.U64(spec.Range.Begin);
        w.U64(spec.Range.End);
        w.U8((byte)spec.Updater);
        UpdaterSettings s = spec.Settings;
        foreach (float f in new[] { s.LearningRate, s.L1, s.L2, s.Beta1, s.Beta2, s.Epsilon, s.Beta })
            w.F32(f);
        w.U8((byte)spec.Initializer.Kind);
        w.F32(spec.Initializer.Scale);
        w.U64(spec.Initializer.Seed);
        w.I64(spec.MaxRows);
    }

    private static TableSpec ReadSpec(ref PayloadReader r)
    {
        string name = r.Str("table name", 128);
        byte kind = r.U8("table kind");
        if (!Enum.IsDefined((TableKind)kind))
            throw new ProtocolException("table kind", kind, "is not dense (0) or sparse (1)");
        int width = r.I32("width");
        ulong begin = r.U64("table range begin"), end = r.U64("table range end");
        if (end < begin)
            throw new ProtocolException($"table spec: range end {end} before begin {begin}");
        byte updater = r.U8("updater");
        if (!Enum.IsDefined((UpdaterKind)updater))
            throw new ProtocolException("updater", updater, "is not a known updater");
        var settings = new UpdaterSettings(r.F32("learning rate"), r.F32("l1"), r.F32("l2"), r.F32("beta1"), r.F32("beta2"), r.F32("epsilon"), r.F32("beta"));
        byte init = r.U8("initializer");
        if (!Enum.IsDefined((InitializerKind)init))
            throw new ProtocolException("initializer", init, "is not a known initializer");
        var initializer = new TableInitializer((InitializerKind)init, r.F32("initializer scale"), r.U64("initializer seed"));
        long maxRows = r.I64("max rows");
        var spec = new TableSpec
        {
            Name = name, Kind = (TableKind)kind, Width = width, Range = new KeyRange(begin, end), Updater = (UpdaterKind)updater,
            Settings = settings, Initializer = initializer, MaxRows = maxRows,
        };
        try
        {
            spec.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ProtocolException($"table spec: {e.Message}");
        }
        return spec;
    }
}
