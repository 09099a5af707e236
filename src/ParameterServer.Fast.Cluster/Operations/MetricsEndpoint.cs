using System.Net;
using System.Net.Sockets;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ParameterServer.Fast.Cluster.Operations;

/// <summary>Where a node serves its metrics: <c>--metrics-port PORT</c> (0: any free port) and the address to bind.</summary>
/// <param name="Host">127.0.0.1 by default: metrics are for a Prometheus on this machine or a tunnel, not the open network.</param>
public sealed record MetricsOptions(int Port, string Host = "127.0.0.1")
{
    public void Validate()
    {
        if (Port is < 0 or > 65535)
            throw new ArgumentException($"metrics port must be in 0..65535, got {Port}");
        if (string.IsNullOrWhiteSpace(Host) || Host.Any(c => char.IsWhiteSpace(c) || c is '/' or '?' or '#'))
            throw new ArgumentException($"metrics host '{Host}' is not a host name or address");
    }
}

/// <summary>
/// A node's Prometheus endpoint, http://HOST:PORT/metrics: an OpenTelemetry meter provider over
/// the meter "ParameterServer.Fast" (<see cref="NodeMetrics"/>) exported by the OpenTelemetry
/// Prometheus HttpListener exporter. One per process; disposing it stops the listener.
/// </summary>
public sealed class MetricsEndpoint : IDisposable
{
    // Port 0 is resolved by asking the OS for a free port and handing it to HttpListener, which
    // cannot bind port 0 itself; another process may take it in between, hence a few tries.
    private const int FreePortTries = 5;

    private readonly MeterProvider _provider;

    private MetricsEndpoint(MeterProvider provider, string host, int port)
    {
        _provider = provider;
        Port = port;
        Url = new Uri($"http://{(host.Contains(':') ? $"[{host}]" : host)}:{port}/metrics");
    }

    public int Port { get; }

    /// <summary>The scrape address.</summary>
    public Uri Url { get; }

    /// <summary>Starts serving; throws <see cref="IOException"/> naming the address when it cannot be bound.</summary>
    public static MetricsEndpoint Start(MetricsOptions options)
    {
        options.Validate();
        for (int attempt = 1; ; attempt++)
        {
            int port = options.Port != 0 ? options.Port : FreePort(options.Host);
            try
            {
                MeterProvider provider = Sdk.CreateMeterProviderBuilder()
                    .AddMeter(NodeMetrics.MeterName)
                    .AddPrometheusHttpListener(o =>
                    {
                        o.Host = options.Host;
                        o.Port = port;
                        // Every scrape sees the values of that moment (scrapes are seconds apart).
                        o.ScrapeResponseCacheDurationMilliseconds = 0;
                    })
                    .Build();
                return new MetricsEndpoint(provider, options.Host, port);
            }
            catch (Exception e) when (e is HttpListenerException or SocketException or InvalidOperationException)
            {
                if (options.Port == 0 && attempt < FreePortTries)
                    continue;
                throw new IOException($"cannot serve metrics on http://{options.Host}:{port}/metrics: {e.Message}", e);
            }
        }
    }

    private static int FreePort(string host)
    {
        IPAddress address = IPAddress.TryParse(host, out IPAddress? a) ? a : IPAddress.Loopback;
        using var probe = new TcpListener(address, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose() => _provider.Dispose();
}
