namespace ParameterServer.Fast.Apps.SumCheck;

/// <summary>One worker's part of a sum-check job; worker 0 also carries the comparison.</summary>
public sealed record SumCheckResult
{
    public int Worker { get; init; }
    public int Rounds { get; init; }
    public long SparseRowsPushed { get; init; }
    public long DenseRowsPushed { get; init; }
    public double ComputeSeconds { get; init; }
    public double WaitSeconds { get; init; }
    /// <summary>Rows pulled and compared (worker 0 only; 0 elsewhere).</summary>
    public long RowsChecked { get; init; }
    /// <summary>Rows whose pulled value differs from the exact expected sum; −1 where not checked.</summary>
    public long Mismatches { get; init; } = -1;
    public long SparseMismatches { get; init; }
    public long DenseMismatches { get; init; }
    /// <summary>The largest |pulled − expected| over all rows.</summary>
    public double MaxAbsError { get; init; }
    /// <summary>The first mismatching row, for the log: "sparse key 123: 40 ≠ 42 expected".</summary>
    public string? FirstMismatch { get; init; }

    public Dictionary<string, double> ToMetrics()
    {
        var m = new Dictionary<string, double>
        {
            ["iterations"] = Rounds,
            ["examples"] = SparseRowsPushed + DenseRowsPushed,
            ["sparse_rows_pushed"] = SparseRowsPushed,
            ["dense_rows_pushed"] = DenseRowsPushed,
            ["compute_seconds"] = ComputeSeconds,
            ["wait_seconds"] = WaitSeconds,
        };
        if (Mismatches >= 0)
        {
            m["rows_checked"] = RowsChecked;
            m["mismatches"] = Mismatches;
            m["sparse_mismatches"] = SparseMismatches;
            m["dense_mismatches"] = DenseMismatches;
            m["max_abs_error"] = MaxAbsError;
        }
        return m;
    }
}
