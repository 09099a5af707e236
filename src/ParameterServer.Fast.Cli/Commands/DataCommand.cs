using System.Diagnostics;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Cli.CommandLine;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// `psf data gen-sparse --out FILE [--format libsvm|binary] [--examples N] [--vocabulary V]
/// [--features F] [--skew S] [--noise P] [--seed S]` and `psf data convert IN OUT [--skip-bad-lines]`.
/// </summary>
public static class DataCommand
{
    public static int Run(string[] argv, TextWriter output)
    {
        if (argv.Length == 0)
            throw new UsageException("psf data: use 'psf data gen-sparse --out FILE' or 'psf data convert IN.libsvm OUT.psfd'");
        var args = new Arguments($"data {argv[0]}", argv.Skip(1));
        return argv[0] switch
        {
            "gen-sparse" => Generate(args, output),
            "convert" => Convert(args, output),
            _ => throw new UsageException($"psf data: unknown verb '{argv[0]}': use gen-sparse or convert"),
        };
    }

    private static int Generate(Arguments args, TextWriter output)
    {
        string path = args.String("out") ?? throw new UsageException("psf data gen-sparse: --out FILE is required");
        string format = args.String("format", path.EndsWith(".psfd", StringComparison.Ordinal) ? "binary" : "libsvm");
        var generator = new ClickLogGenerator
        {
            Examples = args.Int("examples", 100_000, 1, 1_000_000_000),
            Vocabulary = args.Int("vocabulary", 200_000, 1, 1_000_000_000),
            FeaturesPerExample = args.Int("features", 24, 1, 10_000),
            Skew = args.Double("skew", 1.1, 0.01, 10),
            LabelNoise = args.Double("noise", 0.05, 0, 0.5),
            Seed = (ulong)args.Long("seed", 1, 0),
        };
        args.EnsureAllUsed();
        var clock = Stopwatch.StartNew();
        SparseDataset data = generator.Generate();
        Write(data, path, format);
        output.WriteLine($"wrote {data.Count:N0} examples, {data.Keys.Length:N0} nonzeros to {path} ({format}) in {clock.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }

    private static int Convert(Arguments args, TextWriter output)
    {
        bool skip = args.Flag("skip-bad-lines");
        string format = args.String("format", "binary");
        args.EnsureAllUsed(allowedPositionals: 2);
        if (args.Positionals.Count != 2)
            throw new UsageException("psf data convert: give an input and an output file");
        string input = args.Positionals[0], outPath = args.Positionals[1];
        SparseDataset data;
        if (BinaryDataset.LooksLikeBinary(input))
        {
            data = BinaryDataset.Read(input);
        }
        else
        {
            LibSvmReader.Result r = LibSvmReader.Read(input, skip);
            data = r.Data;
            if (r.SkippedLines > 0)
            {
                output.WriteLine($"skipped {r.SkippedLines} bad lines, the first:");
                foreach (string e in r.FirstErrors)
                    output.WriteLine("  " + e);
            }
        }
        Write(data, outPath, format);
        output.WriteLine($"wrote {data.Count:N0} examples to {outPath} ({format})");
        return 0;
    }

    private static void Write(SparseDataset data, string path, string format)
    {
        switch (format)
        {
            case "libsvm": LibSvmReader.Write(data, path); break;
            case "binary": BinaryDataset.Write(data, path); break;
            default: throw new UsageException($"psf data: --format must be libsvm or binary, got '{format}'");
        }
    }
}
