using System.Diagnostics;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>
/// Timing for the quick benchmarks. Candidates compared in one run are interleaved (A B A B …)
/// so a noisy neighbour slows both alike, and the median of the repetitions is reported.
/// </summary>
public static class Measure
{
    /// <summary>Runs every action <paramref name="repetitions"/> times, interleaved, after one warm-up each; returns median seconds per action.</summary>
    public static double[] Interleaved(int repetitions, params Action[] actions)
    {
        foreach (Action a in actions)
            a();
        var times = new double[actions.Length][];
        for (int k = 0; k < actions.Length; k++)
            times[k] = new double[repetitions];
        for (int r = 0; r < repetitions; r++)
        {
            for (int k = 0; k < actions.Length; k++)
            {
                long start = Stopwatch.GetTimestamp();
                actions[k]();
                times[k][r] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        }
        return [.. times.Select(Median)];
    }

    public static double Median(double[] values)
    {
        double[] sorted = [.. values];
        Array.Sort(sorted);
        int n = sorted.Length;
        return n == 0 ? double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }

    public static double Percentile(double[] sortedValues, double p)
    {
        if (sortedValues.Length == 0)
            return double.NaN;
        int index = (int)Math.Ceiling(p / 100.0 * sortedValues.Length) - 1;
        return sortedValues[Math.Clamp(index, 0, sortedValues.Length - 1)];
    }
}
