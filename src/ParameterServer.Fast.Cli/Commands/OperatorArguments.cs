using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// What an operator's command to a running job (`psf status`, `psf drain`) reads to reach its
/// scheduler: the address, then the job's secret and TLS options, authenticating like any node.
/// </summary>
internal static class OperatorArguments
{
    /// <summary>--scheduler (or PSF_SCHEDULER): a tcp:// or shm:// address.</summary>
    public static Endpoint Scheduler(Arguments args, string command)
    {
        string text = args.String("scheduler") ?? throw new UsageException($"psf {command}: --scheduler tcp://HOST:PORT is required (or PSF_SCHEDULER)");
        Endpoint scheduler;
        try
        {
            scheduler = Endpoint.Parse(text);
        }
        catch (FormatException e)
        {
            throw new UsageException($"psf {command}: --scheduler: {e.Message}");
        }
        if (scheduler.Kind is not (TransportKind.Tcp or TransportKind.Shm))
            throw new UsageException($"psf {command}: --scheduler must be a tcp:// or shm:// address, got '{text}'");
        return scheduler;
    }

    /// <summary>The transport to <paramref name="scheduler"/> with the job's secret (PSF_SECRET or --secret-file) and TLS options; checks every argument was used.</summary>
    public static ITransport Transport(Arguments args, string command, Endpoint scheduler)
    {
        ClusterSecret secret = ClusterSecret.FromEnvironment(args.String("secret-file"))
            ?? throw new UsageException($"psf {command}: no cluster secret: set PSF_SECRET or pass --secret-file FILE (the job's)");
        var tls = NodeCommands.ReadTls(args);
        args.EnsureAllUsed();
        return TransportFactory.Create(scheduler.Kind, secret, tls: tls);
    }
}
