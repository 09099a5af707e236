using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cli.Commands;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Cluster.Protocol;

namespace ParameterServer.Fast.Cli.Tests;

[NonParallelizable]
public class MetricsArgumentsTests
{
    [Test]
    public void APortAndAHostAreRead()
    {
        Assert.That(MetricsArguments.Read(new Arguments("server", [])), Is.Null, "no port: no endpoint");
        Assert.That(MetricsArguments.Read(new Arguments("server", ["--metrics-port", "9464"])), Is.EqualTo(new MetricsOptions(9464)));
        Assert.That(MetricsArguments.Read(new Arguments("server", ["--metrics-port=0", "--metrics-host", "::1"])), Is.EqualTo(new MetricsOptions(0, "::1")));
    }

    [Test]
    public void ThePortComesFromTheEnvironmentToo()
    {
        Environment.SetEnvironmentVariable("PSF_METRICS_PORT", "9500");
        try
        {
            Assert.That(MetricsArguments.Read(new Arguments("worker", [])), Is.EqualTo(new MetricsOptions(9500)));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PSF_METRICS_PORT", null);
        }
    }

    [TestCase("--metrics-port", "65536", "--metrics-port")]
    [TestCase("--metrics-port", "http", "--metrics-port")]
    [TestCase("--metrics-host", "127.0.0.1", "needs --metrics-port")]
    public void BadValuesAreUsageErrors(string option, string value, string message)
    {
        var e = Assert.Throws<UsageException>(() => MetricsArguments.Read(new Arguments("server", [option, value])));
        Assert.That(e!.Message, Does.StartWith("psf server: ").And.Contain(message));
    }

    [Test]
    public void TheEndpointItStartsServesTheInstruments()
    {
        var output = new StringWriter();
        using MetricsEndpoint? endpoint = MetricsArguments.Start(MetricsArguments.Read(new Arguments("server", ["--metrics-port", "0"])), output);
        Assert.That(endpoint, Is.Not.Null);
        Assert.That(output.ToString(), Does.Contain($"metrics at {endpoint!.Url}"));
        using var node = new NodeMetrics(NodeRole.Worker, 4242);
        node.RequestHandled(RequestKind.Pull, 0.001);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string scrape = http.GetStringAsync(endpoint.Url).GetAwaiter().GetResult();
        Assert.That(scrape, Does.Contain("psf_requests_total{").And.Contain("node=\"worker-4242\""));
    }
}
