namespace ParameterServer.Fast.Cli.Soak;

/// <summary>
/// Whether one process stayed flat after warm-up: its resident memory and open descriptors at the
/// end of the run against those just after warm-up. Each end is the median of a few samples, so a
/// garbage collection that happens to fall on one sample does not decide the verdict.
/// </summary>
public sealed record SoakVerdict(string Process, int Samples, long RssAfterWarmUp, long RssAtEnd, int FilesAfterWarmUp, int FilesAtEnd,
    int ThreadsAtEnd, double RssSlopeBytesPerMinute, string? Failure)
{
    /// <summary>Samples whose median makes each end.</summary>
    public const int EndSamples = 3;

    public bool Passed => Failure is null;

    public static SoakVerdict Judge(string process, IReadOnlyList<ProcessSample> samples, double warmUpSeconds, SoakTolerance tolerance)
    {
        ProcessSample[] steady = [.. samples.Where(s => s.Seconds >= warmUpSeconds)];
        if (steady.Length < 2 * EndSamples)
            return new SoakVerdict(process, samples.Count, 0, 0, 0, 0, 0, 0,
                $"only {steady.Length} samples after warm-up (need {2 * EndSamples}): the process ended early or the run is too short");
        ProcessSample[] first = steady[..EndSamples], last = steady[^EndSamples..];
        long rss0 = Median(first.Select(s => s.RssBytes)), rss1 = Median(last.Select(s => s.RssBytes));
        int files0 = (int)Median(first.Select(s => (long)s.OpenFiles)), files1 = (int)Median(last.Select(s => (long)s.OpenFiles));
        long allowed = Math.Max(tolerance.RssBytes, (long)(rss0 * tolerance.RssFraction));
        var failures = new List<string>();
        if (rss1 - rss0 > allowed)
            failures.Add($"resident memory grew {Mb(rss1 - rss0)} after warm-up ({Mb(rss0)} → {Mb(rss1)}; at most {Mb(allowed)} allowed)");
        if (files1 - files0 > tolerance.Files)
            failures.Add($"open descriptors grew by {files1 - files0} after warm-up ({files0} → {files1}; at most {tolerance.Files} allowed)");
        return new SoakVerdict(process, samples.Count, rss0, rss1, files0, files1, last[^1].Threads, Slope(steady),
            failures.Count == 0 ? null : string.Join("; ", failures));
    }

    // Least-squares slope of resident memory over the steady part, per minute: a trend the two
    // ends alone could miss or exaggerate, reported beside the verdict.
    private static double Slope(ProcessSample[] s)
    {
        double mt = s.Average(x => x.Seconds), mr = s.Average(x => (double)x.RssBytes);
        double num = s.Sum(x => (x.Seconds - mt) * (x.RssBytes - mr)), den = s.Sum(x => (x.Seconds - mt) * (x.Seconds - mt));
        return den == 0 ? 0 : num / den * 60;
    }

    private static long Median(IEnumerable<long> values)
    {
        long[] sorted = [.. values.Order()];
        return sorted[sorted.Length / 2];
    }

    public static string Mb(double bytes) => $"{bytes / (1 << 20):0.0} MiB";
}

/// <summary>
/// How much growth after warm-up still counts as flat: resident memory may rise by the larger of
/// <see cref="RssBytes"/> and <see cref="RssFraction"/> of its post-warm-up size (the GC sizes its
/// heap to the load, and tiered compilation keeps adding code for a while); descriptors by <see cref="Files"/>.
/// </summary>
public sealed record SoakTolerance(long RssBytes, double RssFraction, int Files);
