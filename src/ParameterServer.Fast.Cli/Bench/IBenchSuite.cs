using ParameterServer.Fast.Cli.CommandLine;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>One `psf bench NAME` suite.</summary>
public interface IBenchSuite
{
    string Name { get; }

    string Description { get; }

    /// <summary>
    /// What `psf bench all` runs of this suite: each a report name (of its results file and of
    /// its baseline in perf/baselines) with the suite's options for that run.
    /// </summary>
    IReadOnlyList<(string Report, string[] Options)> AllRuns => [(Name, [])];

    /// <summary>Reads the suite's own options, runs it and returns its results and configuration.</summary>
    (IReadOnlyList<BenchResult> Results, Dictionary<string, object> Config) Run(Arguments args, bool quick, TextWriter log);
}
