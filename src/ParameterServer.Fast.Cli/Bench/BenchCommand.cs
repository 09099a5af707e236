using ParameterServer.Fast.Cli.CommandLine;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>
/// `psf bench SUITE [options] [--quick] [--json FILE]` runs one suite;
/// `psf bench all [--out DIR] [--quick] [--check] [--baselines DIR]` runs every suite, writes
/// DIR/SUITE.json for each and, with --check, compares them with the recorded baselines.
/// </summary>
public static class BenchCommand
{
    public static IReadOnlyList<IBenchSuite> Suites { get; } = [new KernelBench(), new CodecBench(), new TransportBench(), new KvBench(), new CountMinBench(), new AppsBench()];

    public static int Run(string[] argv, TextWriter log)
    {
        if (argv.Length == 0 || argv[0] is "-h" or "--help")
        {
            PrintUsage(log);
            return argv.Length == 0 ? 2 : 0;
        }
        string suiteName = argv[0];
        var args = new Arguments($"bench {suiteName}", argv.Skip(1));
        if (suiteName == "all")
            return RunAll(args, log);
        IBenchSuite suite = Suites.FirstOrDefault(s => s.Name == suiteName)
            ?? throw new UsageException($"psf bench: unknown suite '{suiteName}': use {string.Join(", ", Suites.Select(s => s.Name))} or all");
        bool quick = args.Flag("quick");
        string? json = args.String("json");
        (IReadOnlyList<BenchResult> results, Dictionary<string, object> config) = suite.Run(args, quick, log);
        config["quick"] = quick;
        if (json is not null)
            JsonReport.Write(json, $"bench {suite.Name}", config, results);
        return 0;
    }

    private static int RunAll(Arguments args, TextWriter log)
    {
        bool quick = args.Flag("quick");
        bool check = args.Flag("check");
        string outDir = args.String("out", Path.Combine("artifacts", "bench"));
        string baselines = args.String("baselines", FindBaselines());
        args.EnsureAllUsed();
        Directory.CreateDirectory(outDir);
        var failures = new List<string>();
        foreach (IBenchSuite suite in Suites)
        {
            foreach ((string report, string[] options) in suite.AllRuns)
            {
                log.WriteLine($"== psf bench {string.Join(' ', [suite.Name, .. options])}{(quick ? " --quick" : "")}: {suite.Description}");
                var suiteArgs = new Arguments($"bench {suite.Name}", options);
                (IReadOnlyList<BenchResult> results, Dictionary<string, object> config) = suite.Run(suiteArgs, quick, log);
                config["quick"] = quick;
                string file = Path.Combine(outDir, report + ".json");
                JsonReport.Write(file, string.Join(' ', ["bench", suite.Name, .. options]), config, results);
                log.WriteLine($"   wrote {file}");
                if (check)
                    failures.AddRange(CheckAgainstBaseline(Path.Combine(baselines, report + ".json"), results, log));
            }
        }
        if (failures.Count > 0)
        {
            log.WriteLine($"psf bench: regression beyond tolerance in {string.Join(", ", failures)}");
            return 1;
        }
        if (check)
            log.WriteLine("psf bench: every checked ratio is within its tolerance");
        return 0;
    }

    // The checks of one baseline file that failed, each as suite/name; every outcome is logged.
    private static IEnumerable<string> CheckAgainstBaseline(string baselineFile, IReadOnlyList<BenchResult> results, TextWriter log)
    {
        if (!File.Exists(baselineFile))
        {
            log.WriteLine($"   no baseline {baselineFile}: nothing to check");
            return [];
        }
        var failed = new List<string>();
        foreach (BaselineCheck.Outcome o in BaselineCheck.Check(baselineFile, results.ToDictionary(r => r.Name, r => r.Value)))
        {
            log.WriteLine("   " + BaselineCheck.Format(o));
            if (!o.Passed)
                failed.Add($"{o.Suite}/{o.Name}");
        }
        return failed;
    }

    // perf/baselines of the source tree: found from the working directory or the executable upwards.
    private static string FindBaselines()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "perf", "baselines");
                if (Directory.Exists(candidate))
                    return candidate;
            }
        }
        return Path.Combine("perf", "baselines");
    }

    private static void PrintUsage(TextWriter log)
    {
        log.WriteLine("usage: psf bench SUITE [options] [--quick] [--json FILE]");
        log.WriteLine("       psf bench all [--out DIR] [--quick] [--check] [--baselines DIR]");
        foreach (IBenchSuite s in Suites)
            log.WriteLine($"  {s.Name,-10} {s.Description}");
    }
}
