namespace ParameterServer.Fast.Cli.Tests;

public class CliTests
{
    private static (int Code, string Out, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliMain.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Test]
    public void UnknownCommandsAndOptionsExitWithUsageErrors()
    {
        (int code, _, string error) = Run("frobnicate");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("unknown command 'frobnicate'"));
        (code, _, error) = Run("local", "--transport", "carrier-pigeon");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--transport").And.Contain("carrier-pigeon"));
        (code, _, error) = Run("bench", "nosuch");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("unknown suite"));
    }

    [Test]
    public void RolesWithoutASecretSayHowToGiveOne()
    {
        Environment.SetEnvironmentVariable("PSF_SECRET", null);
        (int code, _, string error) = Run("server", "--scheduler", "tcp://127.0.0.1:1");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("PSF_SECRET"));
    }

    [Test]
    public void HelpListsTheCommands()
    {
        (int code, string output, _) = Run("--help");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(output, Does.Contain("local").And.Contain("scheduler").And.Contain("bench"));
    }

    [Test, CancelAfter(120_000)]
    public void AnInProcessLocalJobTrainsAModel()
    {
        string json = Path.Combine(Path.GetTempPath(), $"psf-local-{Guid.NewGuid():N}.json");
        (int code, string output, string error) = Run("local", "--transport", "inproc", "--examples", "4000", "--epochs", "2", "--quiet", "--json", json);
        Assert.That(code, Is.EqualTo(0), output + error);
        Dictionary<string, double> results = Bench.JsonReport.ReadResults(json);
        File.Delete(json);
        Assert.That(results["auc"], Is.GreaterThan(0.65), "the model learned something");
        Assert.That(results["objective"], Is.LessThan(0.69), "better than a coin (log 2)");
        Assert.That(results, Contains.Key("worker_1_wait_seconds"));
    }

    [Test, CancelAfter(120_000)]
    public void ACountMinJobReportsItsSpeedAndErrorInJsonAndProgressAsPlainLines()
    {
        string json = Path.Combine(Path.GetTempPath(), $"psf-cm-{Guid.NewGuid():N}.json");
        (int code, string output, string error) = Run("local", "--app", "count-min", "--transport", "inproc", "--items", "3000000",
            "--width", "65536", "--vocabulary", "100000", "--json", json);
        Assert.That(code, Is.EqualTo(0), output + error);
        Dictionary<string, double> results = Bench.JsonReport.ReadResults(json);
        string text = File.ReadAllText(json);
        File.Delete(json);
        Assert.That(results["inserts_per_s"], Is.GreaterThan(0));
        Assert.That(results["max_relative_error"], Is.GreaterThanOrEqualTo(0));
        Assert.That(results["max_error_over_n"], Is.GreaterThan(0), "small figures keep their significant digits");
        Assert.That(results["bound_violations"], Is.LessThanOrEqualTo(2 * Math.Exp(-4) * 1000));
        Assert.That(text, Does.StartWith("{").And.Contain("\"command\": \"local\"").And.Contain("\"config\"").And.Contain("\"results\""));
        Assert.That(text, Does.Not.Contain("%"), "progress never reaches the JSON");
        Assert.That(output, Does.Contain("items 3000000/3000000").And.Contain("inserts_per_s"));
        Assert.That(output, Does.Not.Contain("\u001b["));
    }

    [Test, CancelAfter(120_000)]
    public void ShardsOfOneServerSplitItsRangesAndEveryRowStaysExact()
    {
        string json = Path.Combine(Path.GetTempPath(), $"psf-shards-{Guid.NewGuid():N}.json");
        (int code, string output, string error) = Run("local", "--app", "sum-check", "--transport", "inproc", "--servers", "1", "--shards", "3",
            "--workers", "2", "--rounds", "40", "--quiet", "--json", json);
        Assert.That(code, Is.EqualTo(0), output + error);
        Dictionary<string, double> results = Bench.JsonReport.ReadResults(json);
        File.Delete(json);
        Assert.That(output, Does.Contain("1 servers of 3 shards each"));
        Assert.That(results["mismatches"], Is.Zero);
        Assert.That(results["rows_checked"], Is.GreaterThan(0));
    }

    [Test]
    public void ShardOptionsAreCheckedAndNamed()
    {
        (int code, _, string error) = Run("local", "--shards", "0");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--shards"));
        (code, _, error) = Run("server", "--scheduler", "tcp://127.0.0.1:1", "--listen", "tcp://127.0.0.1:65535", "--shards", "2");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("65535"));
    }

    [Test]
    public void TheCountMinAppHasTwoNamesAndChecksItsOptions()
    {
        (int code, _, string error) = Run("local", "--app", "countmin", "--batch", "0");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--batch"));
        (code, _, error) = Run("local", "--app", "count-mean");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("count-min"));
    }

    [Test, CancelAfter(120_000)]
    public void ABlockProximalJobReportsItsConvergenceAgainstTheSingleProcessBaseline()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"psf-report-{Guid.NewGuid():N}");
        try
        {
            (int code, string output, string error) = Run("local", "--transport", "inproc", "--algorithm", "block-prox", "--examples", "4000", "--epochs", "4",
                "--max-delay", "0", "--quiet", "--report", dir);
            Assert.That(code, Is.EqualTo(0), output + error);
            Dictionary<string, double> results = Bench.JsonReport.ReadResults(Path.Combine(dir, "results.json"));
            foreach (string name in new[] { "objective", "test_logloss", "auc", "accuracy", "seconds", "worker_bytes_per_iteration", "nonzeros", "baseline_objective", "baseline_seconds" })
                Assert.That(results, Contains.Key(name));
            // Sequential consistency: the job takes the baseline's steps, up to the order floats are added in.
            Assert.That(results["objective"], Is.EqualTo(results["baseline_objective"]).Within(1e-4 * results["baseline_objective"]));
            Assert.That(File.Exists(Path.Combine(dir, "convergence.png")), Is.True, "Figure 9");
            Assert.That(File.ReadAllText(Path.Combine(dir, "index.html")), Does.Contain("Figure 9"));
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
    }
}
