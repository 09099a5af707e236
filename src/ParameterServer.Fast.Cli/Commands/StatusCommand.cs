using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cli.Reports;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Transport.Connections;

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
        Endpoint scheduler = OperatorArguments.Scheduler(args, "status");
        double timeout = args.Double("timeout", 5, 0.1, 600);
        bool allRanges = args.Flag("ranges");
        ITransport transport = OperatorArguments.Transport(args, "status", scheduler);
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
