namespace ParameterServer.Fast.Cli.Bench;

/// <summary>One measured figure: CI scripts read results by <see cref="Name"/>.</summary>
public sealed record BenchResult(string Name, double Value, string Unit)
{
    /// <summary>Whatever else helps to read the figure (sizes, repetitions, spread).</summary>
    public Dictionary<string, object> Extra { get; init; } = [];
}
