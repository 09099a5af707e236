using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// `psf drain --scheduler ADDR --server RANK [--timeout S]`: drains one server out of a running
/// job (its ranges move to the others while training goes on, then it stops) and waits until that
/// is done. Needs the job's secret (PSF_SECRET or --secret-file) and TLS options, like any node,
/// and a job with --replicas 2 or more.
/// </summary>
public static class DrainCommand
{
    public static int Run(string[] argv, TextWriter output)
    {
        var args = new Arguments("drain", argv);
        string text = args.String("scheduler") ?? throw new UsageException("psf drain: --scheduler tcp://HOST:PORT is required (or PSF_SCHEDULER)");
        Endpoint scheduler;
        try
        {
            scheduler = Endpoint.Parse(text);
        }
        catch (FormatException e)
        {
            throw new UsageException($"psf drain: --scheduler: {e.Message}");
        }
        if (scheduler.Kind is not (TransportKind.Tcp or TransportKind.Shm))
            throw new UsageException($"psf drain: --scheduler must be a tcp:// or shm:// address, got '{text}'");
        int rank = args.Int("server", -1, 0, 1 << 16);
        if (rank < 0)
            throw new UsageException("psf drain: --server RANK is required (the rank psf status shows)");
        double timeout = args.Double("timeout", 120, 1, 3600);
        ClusterSecret secret = ClusterSecret.FromEnvironment(args.String("secret-file"))
            ?? throw new UsageException("psf drain: no cluster secret: set PSF_SECRET or pass --secret-file FILE (the job's)");
        var tls = NodeCommands.ReadTls(args);
        args.EnsureAllUsed();

        ITransport transport = TransportFactory.Create(scheduler.Kind, secret, tls: tls);
        try
        {
            DrainClient.DrainAsync(transport, scheduler, rank, TimeSpan.FromSeconds(timeout)).GetAwaiter().GetResult();
        }
        catch (TimeoutException e)
        {
            throw new IOException(e.Message, e);
        }
        output.WriteLine($"psf drain: server {rank} drained: its ranges moved to the other servers and it stopped");
        return 0;
    }
}
