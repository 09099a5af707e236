using System.Globalization;
using ParameterServer.Fast.Apps.SumCheck;
using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cluster.Nodes;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// `--app sum-check`: the cluster self-test (<see cref="SumCheckJob"/>). Its summary says how many
/// rows of the final tables differ from the exact sums; `psf local` exits with 1 when any does.
/// </summary>
public sealed record SumCheckChoice(SumCheckOptions Options) : AppChoice
{
    public override string Name => "sum-check";

    public override string Describe() =>
        $"sum-check: {Options.Rounds} rounds of exact increments to {Options.SparseKeys:N0} sparse and {Options.DenseKeys:N0} dense rows"
        + (Options.KeyLists > 0 ? $", {Options.KeyLists} key sets repeated" : "")
        + (Options.Pace > TimeSpan.Zero ? $", {Options.Pace.TotalMilliseconds:0} ms between rounds" : "");

    public override async Task RunAsync(WorkerClient client, CancellationToken cancellationToken)
    {
        SumCheckResult r = await SumCheckJob.RunAndReportAsync(client, Options, cancellationToken).ConfigureAwait(false);
        // The first wrong row goes to the node's log, where an operator running the self-test looks.
        if (r.FirstMismatch is not null)
            Console.Error.WriteLine($"sum-check: {r.Mismatches} of {r.RowsChecked} rows differ from the exact sums; first: {r.FirstMismatch}");
    }

    public override IEnumerable<string> ToArguments() =>
    [
        "--app", "sum-check",
        "--rounds", Options.Rounds.ToString(CultureInfo.InvariantCulture),
        "--sparse-keys", Options.SparseKeys.ToString(CultureInfo.InvariantCulture),
        "--dense-keys", Options.DenseKeys.ToString(CultureInfo.InvariantCulture),
        "--pace-ms", ((int)Options.Pace.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
        "--key-lists", Options.KeyLists.ToString(CultureInfo.InvariantCulture),
        "--seed", Options.Seed.ToString(CultureInfo.InvariantCulture),
    ];

    public override int IterationsPerWorker(int workers) => Options.Rounds;

    public override string ExamplesName => "rows";

    public override string? ObjectiveName => null;

    public override IEnumerable<(string, double, string)> Summarise(IReadOnlyDictionary<int, IReadOnlyDictionary<string, double>> finals, double seconds)
    {
        yield return ("mismatches", Metric(finals, 0, "mismatches"), $"of {Metric(finals, 0, "rows_checked")} rows differ from the exact sum");
        yield return ("sparse_mismatches", Metric(finals, 0, "sparse_mismatches"), "rows");
        yield return ("dense_mismatches", Metric(finals, 0, "dense_mismatches"), "rows");
        yield return ("max_abs_error", Metric(finals, 0, "max_abs_error"), "");
        yield return ("rows_checked", Metric(finals, 0, "rows_checked"), "rows");
        yield return ("rows_pushed", Sum(finals, "sparse_rows_pushed") + Sum(finals, "dense_rows_pushed"), "rows, all workers");
        yield return ("seconds", seconds, "s");
        yield return ("rows_per_s", (Sum(finals, "sparse_rows_pushed") + Sum(finals, "dense_rows_pushed")) / seconds, "rows/s");
    }

    public override string? Verdict(IReadOnlyList<BenchResult> summary)
    {
        double mismatches = summary.FirstOrDefault(r => r.Name == "mismatches")?.Value ?? double.NaN;
        return mismatches == 0 ? null
            : double.IsNaN(mismatches) ? "sum-check: worker 0 reported no comparison"
            : $"sum-check failed: {mismatches} rows differ from the exact sums (worker 0's log names the first)";
    }

    /// <summary>The sum-check options: --rounds, --sparse-keys, --dense-keys, --key-lists, --pace-ms, --seed.</summary>
    public static SumCheckOptions Read(Arguments args)
    {
        var defaults = new SumCheckOptions();
        var o = new SumCheckOptions
        {
            Rounds = args.Int("rounds", defaults.Rounds, 1, 1_000_000),
            SparseKeys = args.Int("sparse-keys", defaults.SparseKeys, 1, 1 << 24),
            DenseKeys = args.Int("dense-keys", defaults.DenseKeys, 1, 1 << 26),
            Pace = TimeSpan.FromMilliseconds(args.Int("pace-ms", 0, 0, 60_000)),
            KeyLists = args.Int("key-lists", 0, 0, 1_000_000),
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
}
