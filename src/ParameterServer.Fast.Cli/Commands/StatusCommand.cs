using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cli.Reports;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// `psf status --scheduler ADDR [--timeout S] [--ranges]`: asks a running job's scheduler for its
/// status and prints its nodes, clocks, throughput, ranges and replica chains. Needs the job's
/// secret (PSF_SECRET or --secret-file) and its TLS options, like any node.
/// </summary>
public static class StatusCommand
{
    public static int Run(string[] argv, TextWriter output)
    {
        var args = new Arguments("status", argv);
        string text = args.String("scheduler") ?? throw new UsageException("psf status: --scheduler tcp://HOST:PORT is required (or PSF_SCHEDULER)");
        Endpoint scheduler;
        try
        {
            scheduler = Endpoint.Parse(text);
        }
        catch (FormatException e)
        {
            throw new UsageException($"psf status: --scheduler: {e.Message}");
        }
        if (scheduler.Kind is not (TransportKind.Tcp or TransportKind.Shm))
            throw new UsageException($"psf status: --scheduler must be a tcp:// or shm:// address, got '{text}'");
        double timeout = args.Double("timeout", 5, 0.1, 600);
        bool allRanges = args.Flag("ranges");
        ClusterSecret secret = ClusterSecret.FromEnvironment(args.String("secret-file"))
            ?? throw new UsageException("psf status: no cluster secret: set PSF_SECRET or pass --secret-file FILE (the job's)");
        var tls = NodeCommands.ReadTls(args);
        args.EnsureAllUsed();

        ITransport transport = TransportFactory.Create(scheduler.Kind, secret, tls: tls);
        ClusterStatus status;
        try
        {
            status = StatusClient.QueryAsync(transport, scheduler, TimeSpan.FromSeconds(timeout)).GetAwaiter().GetResult();
        }
        catch (TimeoutException e)
        {
            throw new IOException(e.Message, e);
        }
        StatusTable.Write(status, output, allRanges);
        return 0;
    }
}
