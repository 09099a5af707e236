namespace ParameterServer.Fast.Apps.Data;

/// <summary>Where a job's training and held-out examples come from; every worker loads the same.</summary>
public abstract record SparseDataSource
{
    public abstract (SparseDataset Train, SparseDataset Test) Load();

    public abstract string Describe();
}

/// <summary>Generated click-log data: <see cref="ClickLogGenerator.Examples"/> to train on, then <paramref name="HeldOut"/> more.</summary>
public sealed record GeneratedData(ClickLogGenerator Generator, int HeldOut = 20_000) : SparseDataSource
{
    public override (SparseDataset Train, SparseDataset Test) Load() =>
        (Generator.Generate(), Generator.Generate(Generator.Examples, HeldOut));

    public override string Describe() => $"{Generator.Examples:N0} generated click-log examples (seed {Generator.Seed})";
}

/// <summary>A LIBSVM text or PSFD binary file; the last <paramref name="TestFraction"/> of it is held out.</summary>
public sealed record FileData(string Path, bool SkipBadLines = false, double TestFraction = 0.1) : SparseDataSource
{
    public override (SparseDataset Train, SparseDataset Test) Load()
    {
        SparseDataset all = BinaryDataset.LooksLikeBinary(Path) ? BinaryDataset.Read(Path) : LibSvmReader.Read(Path, SkipBadLines).Data;
        if (all.Count < 2)
            throw new DataFormatException($"data file '{Path}' holds {all.Count} examples; at least 2 are needed (one to train, one to test)");
        int test = Math.Clamp((int)(all.Count * TestFraction), 1, all.Count - 1);
        return (all.Slice(0, all.Count - test), all.Slice(all.Count - test, test));
    }

    public override string Describe() => $"the examples of {Path}";
}

/// <summary>Examples already in memory: for benchmarks and tests that run several jobs in one process on the same data.</summary>
public sealed record InMemoryData(SparseDataset Train, SparseDataset Test, string Description) : SparseDataSource
{
    public override (SparseDataset Train, SparseDataset Test) Load() => (Train, Test);

    public override string Describe() => Description;
}
