namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>What one worker measured; worker 0 also evaluates the whole model.</summary>
public sealed record SparseLRResult
{
    public int Worker { get; init; }
    public long Iterations { get; init; }
    public long Examples { get; init; }
    public double ComputeSeconds { get; init; }
    public double WaitSeconds { get; init; }
    public double TrainLogLoss { get; init; } = double.NaN;
    /// <summary>Mean training log loss + (λ₁‖w‖₁ + λ₂/2‖w‖²) / N with block proximal gradient's λ₂, λ₁‖w‖₁ / N with FTRL's (worker 0 only).</summary>
    public double Objective { get; init; } = double.NaN;
    public double TestLogLoss { get; init; } = double.NaN;
    public double Auc { get; init; } = double.NaN;
    public double Accuracy { get; init; } = double.NaN;
    public long NonZeros { get; init; } = -1;
    public long BytesSent { get; init; }
    /// <summary>Block proximal gradient: this worker's share of the objective after each pass.</summary>
    public IReadOnlyList<TracePoint> Trace { get; init; } = [];
    /// <summary>Block proximal gradient: features still active (not dropped by the KKT filter) at the end.</summary>
    public long ActiveFeatures { get; init; } = -1;

    /// <summary>The named results a final progress report carries (the --json names).</summary>
    public Dictionary<string, double> ToMetrics()
    {
        var m = new Dictionary<string, double>
        {
            ["iterations"] = Iterations,
            ["examples"] = Examples,
            ["compute_seconds"] = ComputeSeconds,
            ["wait_seconds"] = WaitSeconds,
            ["bytes_sent"] = BytesSent,
        };
        if (ActiveFeatures >= 0)
            m["active_features"] = ActiveFeatures;
        if (Worker == 0)
        {
            m["objective"] = Objective;
            m["train_logloss"] = TrainLogLoss;
            m["test_logloss"] = TestLogLoss;
            m["auc"] = Auc;
            m["accuracy"] = Accuracy;
            m["nonzeros"] = NonZeros;
        }
        return m;
    }
}
