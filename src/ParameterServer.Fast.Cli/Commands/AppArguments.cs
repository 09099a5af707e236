using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Cli.CommandLine;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>The application options shared by `psf local` and `psf worker` (every worker of a job gets the same).</summary>
public static class AppArguments
{
    public static SparseLROptions ReadSparseLR(Arguments args)
    {
        string app = args.String("app", "sparse-lr");
        if (app is not "sparse-lr")
            throw new UsageException(app is "countmin" or "mlp"
                ? $"psf {args.Command}: --app {app} is not part of this build yet; sparse-lr is"
                : $"psf {args.Command}: unknown app '{app}': use sparse-lr, countmin or mlp");
        if (args.String("data") is { } data)
            throw new UsageException($"psf {args.Command}: reading --data files ('{data}') is not part of this build yet; leave it out to train on the built-in click-log data");
        return new SparseLROptions
        {
            Data = new ClickLogGenerator { Examples = args.Int("examples", 100_000, 100, 100_000_000), Seed = (ulong)args.Long("seed", 1, 0) },
            Epochs = args.Int("epochs", 3, 1, 10_000),
            BatchSize = args.Int("batch-size", 500, 1, 1_000_000),
            MaxDelay = ReadMaxDelay(args),
        };
    }

    /// <summary>--max-delay T, where T is a whole number ≥ 0 or "inf" (eventual consistency).</summary>
    public static int ReadMaxDelay(Arguments args)
    {
        string delay = args.String("max-delay", "2");
        return delay is "inf" or "infinity" or "eventual" ? int.MaxValue
            : int.TryParse(delay, out int d) && d >= 0 ? d
            : throw new UsageException($"psf {args.Command}: --max-delay must be a whole number ≥ 0 or 'inf', got '{delay}'");
    }

    /// <summary>The same options as command-line arguments, for a child `psf worker`.</summary>
    public static IEnumerable<string> ToArguments(SparseLROptions o) =>
    [
        "--app", "sparse-lr",
        "--examples", o.Data.Examples.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--seed", o.Data.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--epochs", o.Epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--batch-size", o.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--max-delay", o.MaxDelay == int.MaxValue ? "inf" : o.MaxDelay.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ];
}
