using ParameterServer.Fast.Apps.CountMin;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>The application options shared by `psf local` and `psf worker` (every worker of a job gets the same).</summary>
public static class AppArguments
{
    /// <summary>--app and that application's options.</summary>
    public static AppChoice Read(Arguments args)
    {
        string app = args.String("app", "sparse-lr");
        return app switch
        {
            "sparse-lr" => new SparseLRChoice(ReadSparseLR(args)),
            "countmin" or "count-min" => new CountMinChoice(ReadCountMin(args)),
            "mlp" => new MlpChoice(ReadMlp(args)),
            "sum-check" => new SumCheckChoice(SumCheckChoice.Read(args)),
            _ => throw new UsageException($"psf {args.Command}: unknown app '{app}': use sparse-lr, countmin (or count-min), mlp or sum-check"),
        };
    }

    private static readonly Dictionary<string, UpdaterKind> s_optimizers = new() { ["adam"] = UpdaterKind.Adam, ["sgd"] = UpdaterKind.Sgd };

    public static Apps.Mlp.MlpOptions ReadMlp(Arguments args)
    {
        string folder = args.String("data", IdxReader.DebianFashionMnist);
        if (!Directory.Exists(folder))
            throw new UsageException($"psf {args.Command}: --data folder '{folder}' does not exist (./build.sh installs Debian's dataset-fashion-mnist into {IdxReader.DebianFashionMnist})");
        UpdaterKind optimizer = args.Choice("optimizer", UpdaterKind.Adam, s_optimizers);
        return new Apps.Mlp.MlpOptions
        {
            Optimizer = optimizer,
            DataFolder = folder,
            Hidden = args.Int("hidden", 256, 1, 1 << 16),
            Epochs = args.Int("epochs", 3, 1, 10_000),
            BatchSize = args.Int("batch-size", 64, 1, 60_000),
            LearningRate = (float)args.Double("learning-rate", Apps.Mlp.MlpOptions.DefaultLearningRate(optimizer), 1e-9, 10),
            MaxDelay = ReadMaxDelay(args, "1"),
            Limit = args.Int("limit", 0, 0, int.MaxValue),
            Seed = (ulong)args.Long("seed", 1, 0),
        };
    }

    public static CountMinOptions ReadCountMin(Arguments args)
    {
        var defaults = new CountMinOptions();
        var o = new CountMinOptions
        {
            Width = args.Int("width", defaults.Width, 16, 1 << 30),
            Depth = args.Int("depth", defaults.Depth, 1, 32),
            Items = args.Long("items", defaults.Items, 1, 1L << 40),
            Vocabulary = args.Int("vocabulary", defaults.Vocabulary, 1, 1 << 28),
            Skew = args.Double("skew", defaults.Skew, 0.01, 100),
            Batch = args.Int("batch", defaults.Batch, 1, CountMinOptions.MaxBatch),
            AggregatedIds = args.Int("aggregated-ids", defaults.AggregatedIds, 0, 1 << 28),
            Seed = (ulong)args.Long("seed", 1, 0),
        };
        try
        {
            o.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"psf {args.Command}: {e.Message}");
        }
        return o;
    }

    private static readonly Dictionary<string, SparseLRAlgorithm> s_algorithms = new()
    {
        ["block-prox"] = SparseLRAlgorithm.BlockProximal,
        ["ftrl"] = SparseLRAlgorithm.Ftrl,
    };

    private static readonly Dictionary<string, bool> s_switches = new() { ["on"] = true, ["off"] = false };

    /// <summary>
    /// Generated click-log examples when no --data is given: enough that each worker computes for
    /// several milliseconds per round, so the default run shows what distributing buys (on 100,000
    /// a worker's ~1 ms per round is less than a round's synchronisation, and the job ran 2× the
    /// one-thread baseline's time; on 1,000,000 it runs in 0.6-0.7× of it).
    /// </summary>
    public const int DefaultExamples = 1_000_000;

    /// <summary>
    /// The sparse-lr options. --algorithm block-prox (the default: the paper's delayed block
    /// proximal gradient, which converges to the optimum of the L1 objective) or ftrl (asynchronous
    /// SGD); --epochs, --l1, --l2 and --max-delay default to the chosen algorithm's own values.
    /// </summary>
    public static SparseLROptions ReadSparseLR(Arguments args)
    {
        var generator = new ClickLogGenerator { Examples = args.Int("examples", DefaultExamples, 100, 100_000_000), Seed = (ulong)args.Long("seed", 1, 0) };
        double testFraction = args.Double("test-fraction", 0.1, 0.0001, 0.9);
        bool skipBadLines = args.Flag("skip-bad-lines");
        string? data = args.String("data");
        if (data is not null && !File.Exists(data))
            throw new UsageException($"psf {args.Command}: --data file '{data}' does not exist");
        SparseLRAlgorithm algorithm = args.Choice("algorithm", SparseLRAlgorithm.BlockProximal, s_algorithms);
        SparseLROptions defaults = SparseLROptions.For(algorithm);
        var o = defaults with
        {
            Data = data is null ? new GeneratedData(generator) : new FileData(data, skipBadLines, testFraction),
            Epochs = args.Int("epochs", defaults.Epochs, 1, 10_000),
            BatchSize = args.Int("batch-size", 500, 1, 1_000_000),
            MaxDelay = ReadMaxDelay(args, defaults.MaxDelay.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Straggler = TimeSpan.FromMilliseconds(args.Int("straggler", 0, 0, 60_000)),
            L1 = (float)args.Double("l1", defaults.L1, 0, 1e9),
            L2 = (float)args.Double("l2", defaults.L2, 0, 1e9),
            Blocks = args.Int("blocks", defaults.Blocks, 1, 4096),
            KktFilter = args.Choice("kkt-filter", defaults.KktFilter, s_switches),
        };
        try
        {
            o.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"psf {args.Command}: {e.Message}");
        }
        return o;
    }

    /// <summary>--max-delay T, where T is a whole number ≥ 0 or "inf" (eventual consistency).</summary>
    public static int ReadMaxDelay(Arguments args, string fallback = "2")
    {
        string delay = args.String("max-delay", fallback);
        return delay is "inf" or "infinity" or "eventual" ? int.MaxValue
            : int.TryParse(delay, out int d) && d >= 0 ? d
            : throw new UsageException($"psf {args.Command}: --max-delay must be a whole number ≥ 0 or 'inf', got '{delay}'");
    }

    /// <summary>The same options as command-line arguments, for a child `psf worker`.</summary>
    public static IEnumerable<string> ToArguments(SparseLROptions o) =>
    [
        "--app", "sparse-lr",
        .. o.Data switch
        {
            FileData f => (string[])["--data", f.Path, "--test-fraction", f.TestFraction.ToString("R", System.Globalization.CultureInfo.InvariantCulture), .. f.SkipBadLines ? ["--skip-bad-lines"] : Array.Empty<string>()],
            GeneratedData g => ["--examples", g.Generator.Examples.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seed", g.Generator.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            _ => throw new ArgumentException($"unknown data source {o.Data}"),
        },
        "--algorithm", s_algorithms.First(a => a.Value == o.Algorithm).Key,
        "--epochs", o.Epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--batch-size", o.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--max-delay", o.MaxDelay == int.MaxValue ? "inf" : o.MaxDelay.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--straggler", ((int)o.Straggler.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--l1", o.L1.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        "--l2", o.L2.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        "--blocks", o.Blocks.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--kkt-filter", o.KktFilter ? "on" : "off",
    ];
}
