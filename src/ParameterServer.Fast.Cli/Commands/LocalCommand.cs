using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cli.Local;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>`psf local --app APP --servers N --workers M --transport inproc|shm|tcp|rdma [...]`.</summary>
public static class LocalCommand
{
    private static readonly Dictionary<string, TransportKind> s_transports = new()
    {
        ["inproc"] = TransportKind.InProc,
        ["tcp"] = TransportKind.Tcp,
        ["shm"] = TransportKind.Shm,
        ["rdma"] = TransportKind.Rdma,
    };

    private static readonly Dictionary<string, bool> s_switches = new() { ["on"] = true, ["off"] = false };

    // server:N@SECONDS or worker:N@SECONDS
    private static KillSpec ParseKill(string text)
    {
        int colon = text.IndexOf(':'), at = text.IndexOf('@');
        string role = colon > 0 ? text[..colon] : "";
        if (role is not ("worker" or "server") || at < colon
            || !int.TryParse(text[(colon + 1)..at], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int worker)
            || !double.TryParse(text[(at + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) || seconds < 0)
            throw new UsageException($"psf local: --kill must look like server:N@SECONDS or worker:N@SECONDS, got '{text}'");
        return new KillSpec(role == "server", worker, seconds);
    }

    // server@SECONDS (--add) or server:RANK@SECONDS (--drain)
    private static MembershipSpec ParseMembership(string text, bool add)
    {
        string form = add ? "server@SECONDS" : "server:RANK@SECONDS";
        int at = text.IndexOf('@');
        string who = at > 0 ? text[..at] : "";
        int rank = 0;
        bool valid = add ? who == "server"
            : who.StartsWith("server:", StringComparison.Ordinal)
              && int.TryParse(who["server:".Length..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out rank);
        if (!valid || !double.TryParse(text[(at + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) || seconds < 0)
            throw new UsageException($"psf local: --{(add ? "add" : "drain")} must look like {form}, got '{text}'");
        return new MembershipSpec(add, rank, seconds);
    }

    public static int Run(string[] argv, TextWriter output)
    {
        var args = new Arguments("local", argv);
        // --max-delay 0,1,2,4 runs the job once per τ (the bounded-delay experiment).
        string? delayList = args.String("max-delay");
        List<int>? sweep = null;
        if (delayList is not null && delayList.Contains(','))
        {
            sweep = [.. delayList.Split(',').Select(d => d.Trim() is "inf" or "infinity" ? int.MaxValue
                : int.TryParse(d, out int v) && v >= 0 ? v : throw new UsageException($"psf local: --max-delay list entry '{d}' must be a whole number ≥ 0 or inf"))];
            argv = [.. argv.Where(a => a != delayList && a != "--max-delay" && a != $"--max-delay={delayList}")];
            args = new Arguments("local", argv);
        }
        double? target = args.String("target") is { } t ? args.Double("target", 0, 0, 100) : null;
        var options = new LocalOptions
        {
            App = AppArguments.Read(args),
            Servers = args.Int("servers", 2, 1, 64),
            Shards = args.Int("shards", 1, 1, 16),
            Workers = args.Int("workers", 2, 1, 256),
            Transport = args.Choice("transport", TransportKind.Tcp, s_transports),
            Replicas = args.Int("replicas", 1, 1, 8),
            ReplicationBatch = args.Int("replication-batch", ServerNode.DefaultReplicationBatch, 1, 4096),
            Json = args.String("json"),
            Report = args.String("report"),
            Kills = [.. args.Strings("kill").Select(ParseKill)],
            Membership = [.. args.Strings("add").Select(a => ParseMembership(a, add: true)), .. args.Strings("drain").Select(d => ParseMembership(d, add: false))],
            Quiet = args.Flag("quiet"),
            Baseline = args.Choice("baseline", true, s_switches),
            Tls = args.Flag("tls"),
            Timeout = TimeSpan.FromSeconds(args.Int("timeout", 1800, 10, 7 * 24 * 3600)),
            Checkpoints = CheckpointArguments.Read(args),
        };
        args.EnsureAllUsed();
        (TransportKind transport, string? fallback) = TransportFactory.Resolve(options.Transport);
        if (fallback is not null)
        {
            output.WriteLine($"psf local: {fallback}");
            options = options with { Transport = transport };
        }
        if (options.Replicas > options.Servers)
            throw new UsageException($"psf local: --replicas {options.Replicas} needs at least that many servers (--servers {options.Servers})");
        if (options.Kills.Any(k => k.Server) && options.Replicas < 2)
            throw new UsageException("psf local: --kill server:... needs --replicas 2 or more, or the dead server's ranges are lost");
        if (options.Kills.Any(k => k.Server && k.Index >= options.Servers))
            throw new UsageException($"psf local: --kill names a server beyond the job's {options.Servers}");
        if (options.Kills.Count > 0 && options.Transport == TransportKind.InProc)
            throw new UsageException("psf local: --kill needs nodes in their own processes: use --transport tcp or shm");
        if (options.Kills.Any(k => !k.Server && k.Index >= options.Workers))
            throw new UsageException($"psf local: --kill names a worker beyond the job's {options.Workers}");
        if (options.Membership.Count > 0 && options.Replicas < 2)
            throw new UsageException("psf local: --add and --drain need --replicas 2 or more (request ids, which make a moved request apply once, are recorded only with replicas)");
        if (options.Membership.Count > 0 && options.Transport == TransportKind.InProc)
            throw new UsageException("psf local: --add and --drain start and stop server processes: use --transport tcp or shm");
        // A rank names a server node: one shard of a process.
        int serverNodes = (options.Servers + options.Membership.Count(a => a.Add)) * options.Shards;
        if (options.Membership.Any(m => !m.Add && m.Rank >= serverNodes))
            throw new UsageException($"psf local: --drain names a server rank beyond the job's {serverNodes} server nodes");
        if (options.Tls && options.Transport != TransportKind.Tcp)
            throw new UsageException("psf local: --tls encrypts TCP; use it with --transport tcp");
        if (sweep is not null && options.Checkpoints.Enabled)
            throw new UsageException("psf local: checkpoints belong to one job; a --max-delay list runs several: give one τ with --checkpoint-dir");
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        if (sweep is not null)
            return new DelaySweep(options, sweep, target, output).RunAsync(cts.Token).GetAwaiter().GetResult();
        return new LocalCluster(options, output).RunAsync(cts.Token).GetAwaiter().GetResult();
    }
}
