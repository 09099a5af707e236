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
    /// <summary>Mean training log loss + λ₁‖w‖₁ / N (worker 0 only).</summary>
    public double Objective { get; init; } = double.NaN;
    public double TestLogLoss { get; init; } = double.NaN;
    public double Auc { get; init; } = double.NaN;
    public double Accuracy { get; init; } = double.NaN;
    public long NonZeros { get; init; } = -1;
    public long BytesSent { get; init; }

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
