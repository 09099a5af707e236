using ParameterServer.Fast.Apps.Data;

namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>Settings of sparse logistic regression with L1 (FTRL-proximal on the servers).</summary>
public sealed record SparseLROptions
{
    public SparseDataSource Data { get; init; } = new GeneratedData(new ClickLogGenerator());
    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 500;
    /// <summary>FTRL α.</summary>
    public float LearningRate { get; init; } = 0.1f;
    public float L1 { get; init; } = 1f;
    public float L2 { get; init; } = 0.01f;
    /// <summary>The bounded delay τ of pulls (0 sequential, int.MaxValue eventual).</summary>
    public int MaxDelay { get; init; } = 2;
    /// <summary>An injected straggler: worker 1 sleeps this long every iteration (for the bounded-delay experiments).</summary>
    public TimeSpan Straggler { get; init; }
    /// <summary>Progress reports per epoch and worker.</summary>
    public int ReportsPerEpoch { get; init; } = 4;
}
