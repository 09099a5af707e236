using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cli.Local;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>`psf local --app APP --servers N --workers M --transport inproc|shm|tcp [...]`.</summary>
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
        var options = new LocalOptions
        {
            App = AppArguments.ReadSparseLR(args),
            Servers = args.Int("servers", 2, 1, 64),
            Workers = args.Int("workers", 2, 1, 256),
            Transport = args.Choice("transport", TransportKind.Tcp, s_transports),
            Replicas = args.Int("replicas", 1, 1, 8),
            Json = args.String("json"),
            Quiet = args.Flag("quiet"),
            Timeout = TimeSpan.FromSeconds(args.Int("timeout", 1800, 10, 7 * 24 * 3600)),
        };
        if (args.String("report") is { } report)
            throw new UsageException($"psf local: --report ('{report}') is not part of this build yet; use --json FILE");
        args.EnsureAllUsed();
        if (options.Replicas > 1)
            throw new UsageException("psf local: --replicas above 1 needs chain replication, which is not part of this build yet");
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        return new LocalCluster(options, output).RunAsync(cts.Token).GetAwaiter().GetResult();
    }
}
