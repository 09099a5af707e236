using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cluster.Operations;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// <c>--metrics-port PORT</c> (0: any free port) and <c>--metrics-host HOST</c> (default
/// 127.0.0.1), also as PSF_METRICS_PORT and PSF_METRICS_HOST: where a node serves Prometheus
/// metrics. Without a port no endpoint is started.
/// </summary>
internal static class MetricsArguments
{
    public static MetricsOptions? Read(Arguments args)
    {
        int port = args.Int("metrics-port", -1, 0, 65535);
        string? host = args.String("metrics-host");
        if (port < 0)
        {
            return host is null
                ? null
                : throw new UsageException($"psf {args.Command}: --metrics-host needs --metrics-port PORT");
        }
        var options = new MetricsOptions(port, host ?? "127.0.0.1");
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"psf {args.Command}: {e.Message}");
        }
        return options;
    }

    /// <summary>Starts the endpoint the options ask for and says where it is; null when none was asked for.</summary>
    public static MetricsEndpoint? Start(MetricsOptions? options, TextWriter output)
    {
        if (options is null)
            return null;
        MetricsEndpoint endpoint = MetricsEndpoint.Start(options);
        output.WriteLine($"metrics at {endpoint.Url}");
        return endpoint;
    }
}
