using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cli.Local;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>`psf local --app APP --servers N --workers M --transport inproc|tcp [...]`.</summary>
public static class LocalCommand
{
    private static readonly Dictionary<string, TransportKind> s_transports = new()
    {
        ["inproc"] = TransportKind.InProc,
        ["tcp"] = TransportKind.Tcp,
        ["shm"] = TransportKind.Shm,
    };

    public static int Run(string[] argv, TextWriter output)
    {
        var args = new Arguments("local", argv);
        string app = args.String("app", "sparse-lr");
        if (app is not "sparse-lr")
            throw new UsageException(app is "countmin" or "mlp"
                ? $"psf local: --app {app} is not part of this build yet; sparse-lr is"
                : $"psf local: unknown app '{app}': use sparse-lr, countmin or mlp");
        string delay = args.String("max-delay", "2");
        int maxDelay = delay is "inf" or "infinity" or "eventual" ? int.MaxValue
            : int.TryParse(delay, out int d) && d >= 0 ? d : throw new UsageException($"psf local: --max-delay must be a whole number ≥ 0 or 'inf', got '{delay}'");
        var options = new LocalOptions
        {
            App = app,
            Servers = args.Int("servers", 2, 1, 64),
            Workers = args.Int("workers", 2, 1, 256),
            Transport = args.Choice("transport", TransportKind.Tcp, s_transports),
            MaxDelay = maxDelay,
            Replicas = args.Int("replicas", 1, 1, 8),
            Epochs = args.Int("epochs", 3, 1, 10_000),
            Examples = args.Int("examples", 100_000, 100, 100_000_000),
            BatchSize = args.Int("batch-size", 500, 1, 1_000_000),
            Seed = (ulong)args.Long("seed", 1, 0),
            Json = args.String("json"),
            Quiet = args.Flag("quiet"),
        };
        if (args.String("data") is { } data)
            throw new UsageException($"psf local: reading --data files ('{data}') is not part of this build yet; leave it out to train on the built-in click-log data");
        if (args.String("report") is { } report)
            throw new UsageException($"psf local: --report ('{report}') is not part of this build yet; use --json FILE");
        args.EnsureAllUsed();
        if (options.Replicas > 1)
            throw new UsageException("psf local: --replicas above 1 needs chain replication, which is not part of this build yet");
        if (options.Transport == TransportKind.Shm)
            throw new UsageException("psf local: the shared-memory transport is not part of this build yet: use --transport tcp or inproc");
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        return new LocalCluster(options, output).RunAsync(cts.Token).GetAwaiter().GetResult();
    }
}
