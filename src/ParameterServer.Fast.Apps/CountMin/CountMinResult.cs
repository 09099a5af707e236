namespace ParameterServer.Fast.Apps.CountMin;

public sealed record CountMinResult
{
    public int Worker { get; init; }
    public long Items { get; init; }
    public long Batches { get; init; }
    /// <summary>Distinct item ids this worker's pre-aggregation flushed into its sketch, over all batches.</summary>
    public long DistinctFlushed { get; init; }
    public double ComputeSeconds { get; init; }
    public double WaitSeconds { get; init; }
    /// <summary>Wall seconds from the start barrier to the end barrier (all workers inserting).</summary>
    public double InsertSeconds { get; init; }
    public double MaxRelativeError { get; init; } = double.NaN;
    public double MaxErrorOverN { get; init; } = double.NaN;
    public int BoundViolations { get; init; } = -1;
    public int Queried { get; init; }
    /// <summary>The largest difference between a row's sum and the items streamed (see <see cref="CountMinCheck.SketchTotalsAsync"/>).</summary>
    public double RowTotalError { get; init; } = double.NaN;
    /// <summary>A 52-bit fingerprint of every counter of the final sketch.</summary>
    public long SketchDigest { get; init; }

    public Dictionary<string, double> ToMetrics()
    {
        var m = new Dictionary<string, double>
        {
            ["iterations"] = Batches,
            ["examples"] = Items,
            ["distinct_flushed"] = DistinctFlushed,
            ["compute_seconds"] = ComputeSeconds,
            ["wait_seconds"] = WaitSeconds,
            ["insert_seconds"] = InsertSeconds,
        };
        if (Worker == 0)
        {
            m["max_relative_error"] = MaxRelativeError;
            m["max_error_over_n"] = MaxErrorOverN;
            m["bound_violations"] = BoundViolations;
            m["queried"] = Queried;
            m["row_total_error"] = RowTotalError;
            m["sketch_digest"] = SketchDigest;
        }
        return m;
    }
}
