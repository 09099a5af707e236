using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cli.Reports;

namespace ParameterServer.Fast.Cli.Tests;

/// <summary>`--report DIR`: the files it writes and what the page says of its figures.</summary>
public class RunReportTests
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    [TestCase(true)]
    [TestCase(false)]
    public void TheTimeFigureShowsWaitingByCauseWhenWorkersReportCauses(bool causes)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"psf-report-{Guid.NewGuid():N}");
        try
        {
            var results = new List<BenchResult> { new("objective", 0.49, "") };
            for (int w = 0; w < 2; w++)
            {
                results.Add(new($"worker_{w}_compute_seconds", 0.4 + w, "s"));
                results.Add(new($"worker_{w}_wait_seconds", 0.6, "s"));
                if (causes)
                {
                    foreach (string cause in new[] { "network", "server", "consistency", "straggler" })
                        results.Add(new($"worker_{w}_wait_{cause}_seconds", 0.1, "s"));
                }
            }
            RunReport.Write(dir, "a run", new Dictionary<string, object> { ["app"] = "test" }, results, [], TextWriter.Null);

            byte[] png = File.ReadAllBytes(Path.Combine(dir, "time.png"));
            Assert.That(png.AsSpan(0, 8).SequenceEqual(PngSignature), Is.True, "time.png is a PNG");
            // The IHDR chunk gives the size: the figure with causes is drawn 900 wide.
            int width = (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19];
            Assert.That(width, Is.EqualTo(900));
            string html = File.ReadAllText(Path.Combine(dir, "index.html"));
            Assert.That(html, Does.Contain("data:image/png;base64,"));
            Assert.That(html.Contains("waiting by cause", StringComparison.Ordinal), Is.EqualTo(causes));
            Assert.That(File.Exists(Path.Combine(dir, "results.json")), Is.True);
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
    }
}
