using System.Globalization;
using System.Text.Json;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>
/// `psf bench all --check`: compares figures of this run with perf/baselines/SUITE.json. Checked
/// figures are ratios to a baseline measured in the same run (or machine-independent sizes), so a
/// noisy shared machine moves both sides alike. A figure fails when it is worse than its recorded
/// value by more than the stated tolerance.
/// <code>
/// { "suite": "kernels", "tolerance": 0.2,
///   "checks": [ { "name": "sum_into_vs_c", "baseline": 0.97, "target": 0.9, "lower_is_better": false } ] }
/// </code>
/// </summary>
public static class BaselineCheck
{
    public sealed record Outcome(string Suite, string Name, double Value, double Baseline, double Limit, double? Target, bool Passed);

    public static List<Outcome> Check(string baselineFile, IReadOnlyDictionary<string, double> values)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(baselineFile));
        JsonElement root = doc.RootElement;
        string suite = root.GetProperty("suite").GetString() ?? Path.GetFileNameWithoutExtension(baselineFile);
        double defaultTolerance = root.TryGetProperty("tolerance", out JsonElement t) ? t.GetDouble() : 0.2;
        var outcomes = new List<Outcome>();
        foreach (JsonElement check in root.GetProperty("checks").EnumerateArray())
        {
            string name = check.GetProperty("name").GetString()!;
            double baseline = check.GetProperty("baseline").GetDouble();
            double tolerance = check.TryGetProperty("tolerance", out JsonElement ct) ? ct.GetDouble() : defaultTolerance;
            bool lowerIsBetter = check.TryGetProperty("lower_is_better", out JsonElement l) && l.GetBoolean();
            double? target = check.TryGetProperty("target", out JsonElement tg) ? tg.GetDouble() : null;
            double limit = lowerIsBetter ? baseline * (1 + tolerance) : baseline * (1 - tolerance);
            double value = values.TryGetValue(name, out double v) ? v : double.NaN;
            bool passed = double.IsFinite(value) && (lowerIsBetter ? value <= limit : value >= limit);
            outcomes.Add(new Outcome(suite, name, value, baseline, limit, target, passed));
        }
        return outcomes;
    }

    public static string Format(Outcome o)
    {
        string target = o.Target is { } t ? string.Create(CultureInfo.InvariantCulture, $", target {t:0.###}") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{(o.Passed ? "ok  " : "FAIL")} {o.Suite}/{o.Name}: {o.Value:0.###} (baseline {o.Baseline:0.###}, limit {o.Limit:0.###}{target})");
    }
}
