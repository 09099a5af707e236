namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>A worker's share of the objective at the end of a pass, seconds after training started.</summary>
public readonly record struct TracePoint(int Pass, double Seconds, double Share);

/// <summary>The objective at the end of a pass, seconds after training started (the paper's Figure 9).</summary>
public readonly record struct ObjectivePoint(int Pass, double Seconds, double Objective);

/// <summary>
/// Puts the workers' shares back together: the objective at the end of pass p is the sum of every
/// worker's share for p, reached when the last of them got there.
/// </summary>
public static class ObjectiveTrace
{
    /// <summary>The metric name of a share in progress reports.</summary>
    public const string ShareMetric = "objective_share";

    public static List<ObjectivePoint> Combine(IEnumerable<(int Worker, TracePoint Point)> shares, int workers)
    {
        var passes = new SortedDictionary<int, Dictionary<int, TracePoint>>();
        foreach ((int worker, TracePoint p) in shares)
        {
            if (!passes.TryGetValue(p.Pass, out Dictionary<int, TracePoint>? byWorker))
                passes[p.Pass] = byWorker = [];
            byWorker[worker] = p;
        }
        return [.. passes.Where(p => p.Value.Count == workers)
            .Select(p => new ObjectivePoint(p.Key, p.Value.Values.Max(v => v.Seconds), p.Value.Values.Sum(v => v.Share)))];
    }

    /// <summary>
    /// 0.01%: a job and the single-process baseline take the same steps but add the workers'
    /// gradients in another order, so reaching the baseline's objective allows that much float noise.
    /// </summary>
    public const double ReachTolerance = 1e-4;

    /// <summary>The seconds at which the objective first came within <see cref="ReachTolerance"/> of <paramref name="target"/> (or below), or NaN if it never did.</summary>
    public static double SecondsToReach(IReadOnlyList<ObjectivePoint> trace, double target)
    {
        foreach (ObjectivePoint p in trace)
        {
            if (p.Objective <= target * (1 + ReachTolerance))
                return p.Seconds;
        }
        return double.NaN;
    }
}
