using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Transport.Connections;

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
        Endpoint scheduler = OperatorArguments.Scheduler(args, "drain");
        int rank = args.Int("server", -1, 0, 1 << 16);
        if (rank < 0)
            throw new UsageException("psf drain: --server RANK is required (the rank psf status shows)");
        double timeout = args.Double("timeout", 120, 1, 3600);
        ITransport transport = OperatorArguments.Transport(args, "drain", scheduler);
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
