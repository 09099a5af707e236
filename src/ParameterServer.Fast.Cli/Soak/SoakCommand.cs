using System.Diagnostics;
using System.Globalization;
using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cli.CommandLine;

namespace ParameterServer.Fast.Cli.Soak;

/// <summary>
/// `psf soak` (`./build.sh soak`): a bounded run of several minutes that watches for leaks. It
/// starts `psf local --app sum-check` with paced rounds (the scheduler inside that process, every
/// server and worker its own process), samples every node process's resident memory, open
/// descriptors and threads from /proc every few seconds, and at the end prints a table and fails
/// when any process grew after warm-up beyond the tolerance, or the job's sums were not exact.
/// </summary>
public static class SoakCommand
{
    public static int Run(string[] argv, TextWriter output)
    {
        var args = new Arguments("soak", argv);
        double minutes = args.Double("minutes", 5, 0.5, 600);
        double warmUp = args.Double("warm-up-seconds", Math.Max(60, minutes * 60 / 4), 0, minutes * 60 * 0.8);
        double interval = args.Double("interval", 5, 0.2, 600);
        int servers = args.Int("servers", 3, 1, 64), workers = args.Int("workers", 2, 1, 64), replicas = args.Int("replicas", 2, 1, 8);
        int paceMs = args.Int("pace-ms", 20, 1, 10_000);
        string transport = args.String("transport", "tcp");
        var tolerance = new SoakTolerance(
            (long)(args.Double("rss-tolerance-mb", 24, 0, 1 << 20) * (1 << 20)),
            args.Double("rss-tolerance-fraction", 0.10, 0, 10),
            args.Int("fd-tolerance", 4, 0, 1 << 20));
        string? json = args.String("json");
        // --kill server:N@S (repeatable, needs --replicas 2): fault injection passed to psf local. The kills must land
        // in the warm-up, so what is judged is the survivors after the failover.
        string[] kills = [.. args.Strings("kill")];
        foreach (string kill in kills)
        {
            var m = System.Text.RegularExpressions.Regex.Match(kill, @"^server:\d+@(\d+(\.\d+)?)$");
            if (!m.Success)
                throw new UsageException($"psf soak: --kill must look like server:N@SECONDS (a killed worker's replacement would make the sums inexact), got '{kill}'");
            // psf local counts kill times from the first progress report, a few seconds after the
            // soak starts; 15 s of margin keep the kill and the failover inside the warm-up.
            if (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) > warmUp - 15)
                throw new UsageException($"psf soak: --kill {kill} must land at least 15 s before the warm-up ends ({warmUp:0} s), so the survivors are judged after the failover");
        }
        args.EnsureAllUsed();
        if (!OperatingSystem.IsLinux())
            throw new UsageException("psf soak: samples processes through /proc: it runs on Linux only");
        if (replicas > servers)
            throw new UsageException($"psf soak: --replicas {replicas} needs at least that many servers (--servers {servers})");

        // Each round takes at least the pace, so this many rounds last at least the asked minutes;
        // small tables keep a round's own work to a few milliseconds, so not much longer. The key
        // sets repeat (16 of them, as minibatches do): with a new set every round the key caches
        // would fill toward their 64 MiB-per-peer bounds for many minutes, which is no leak.
        int rounds = (int)Math.Ceiling(minutes * 60_000 / paceMs);
        string[] job =
        [
            "local", "--app", "sum-check", "--rounds", rounds.ToString(CultureInfo.InvariantCulture), "--pace-ms", paceMs.ToString(CultureInfo.InvariantCulture),
            "--sparse-keys", "5000", "--dense-keys", "4096", "--key-lists", "16", "--servers", servers.ToString(CultureInfo.InvariantCulture),
            "--workers", workers.ToString(CultureInfo.InvariantCulture), "--replicas", replicas.ToString(CultureInfo.InvariantCulture),
            "--transport", transport, "--quiet",
            .. kills.SelectMany(k => new[] { "--kill", k }),
        ];
        // A run that overstays its time three times over (plus start-up) is stopped and fails.
        TimeSpan limit = TimeSpan.FromMinutes(3 * minutes + 2);
        output.WriteLine($"psf soak: {minutes:0.#} min of sum-check ({rounds} rounds, {paceMs} ms apart) on {servers} servers × {workers} workers, R = {replicas}, {transport}; " +
            $"sampling every {interval:0.#} s, warm-up {warmUp:0} s; tolerance: RSS +max({SoakVerdict.Mb(tolerance.RssBytes)}, {tolerance.RssFraction:P0}), descriptors +{tolerance.Files}; " +
            $"{Gen0BudgetVariable}={Environment.GetEnvironmentVariable(Gen0BudgetVariable) ?? Gen0Budget}");

        using Process child = StartSelf(job);
        try
        {
            var lines = new List<string>();
            child.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
            child.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            var names = new Dictionary<int, string>();
            var samples = new Dictionary<int, List<ProcessSample>>();
            var clock = Stopwatch.StartNew();
            double lastPrint = 0;
            bool overran = false;
            while (!child.HasExited)
            {
                if (clock.Elapsed > limit)
                {
                    overran = true;
                    child.Kill(entireProcessTree: true);
                    break;
                }
                double now = clock.Elapsed.TotalSeconds;
                foreach (int pid in ProcessSample.Children(child.Id).Prepend(child.Id))
                {
                    if (ProcessSample.Read(pid, now) is not { } sample)
                        continue;
                    if (!names.ContainsKey(pid))
                    {
                        names[pid] = Name(pid, child.Id, names.Values);
                        samples[pid] = [];
                    }
                    samples[pid].Add(sample);
                }
                if (now - lastPrint >= 60)
                {
                    lastPrint = now;
                    long total = samples.Values.Sum(s => s.Count > 0 ? s[^1].RssBytes : 0);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{now,6:0}s] {names.Count} processes, {SoakVerdict.Mb(total)} resident in all"));
                }
                child.WaitForExit(TimeSpan.FromSeconds(interval));
            }
            child.WaitForExit(TimeSpan.FromSeconds(10));

            // A process that vanished while the others were still sampled was killed (by --kill) or
            // died: the first is reported and not judged, the second fails the soak.
            double lastSample = samples.Values.Max(s => s.Count > 0 ? s[^1].Seconds : 0);
            bool Vanished(int pid) => samples[pid].Count > 0 && samples[pid][^1].Seconds < lastSample - 3 * interval;
            SoakVerdict[] verdicts = [.. names.OrderBy(n => n.Value, StringComparer.Ordinal).Select(n =>
                Vanished(n.Key)
                    ? new SoakVerdict(n.Value + (kills.Length > 0 ? " (killed)" : ""), samples[n.Key].Count, 0, 0, 0, 0, 0, 0,
                        kills.Length > 0 ? null : $"it ended at {samples[n.Key][^1].Seconds:0} s, before the job")
                    : SoakVerdict.Judge(n.Value, samples[n.Key], warmUp, tolerance))];
            PrintTable(verdicts, output);
            var failures = verdicts.Where(v => !v.Passed).Select(v => $"{v.Process}: {v.Failure}").ToList();
            if (overran)
                failures.Add($"the job did not finish within {limit.TotalMinutes:0} min and was stopped");
            else if (child.ExitCode != 0)
                failures.Add($"psf local exited with {child.ExitCode}: {string.Join("\n", lines.TakeLast(20))}");
            string? mismatches;
            lock (lines)
                mismatches = lines.FirstOrDefault(l => l.TrimStart().StartsWith("mismatches", StringComparison.Ordinal))?.Trim();
            output.WriteLine($"job: {clock.Elapsed.TotalSeconds:0} s, {mismatches ?? "no sum-check result"}");
            if (json is not null)
                WriteJson(json, verdicts, minutes, warmUp, tolerance, clock.Elapsed.TotalSeconds, failures.Count == 0);
            foreach (string f in failures)
                output.WriteLine($"psf soak: FAILED: {f}");
            if (failures.Count == 0)
                output.WriteLine($"psf soak: passed: every process flat after warm-up");
            return failures.Count == 0 ? 0 : 1;
        }
        finally
        {
            // Interrupted or failed: no node process outlives the soak.
            if (!child.HasExited)
                child.Kill(entireProcessTree: true);
        }
    }

    private static void PrintTable(IEnumerable<SoakVerdict> verdicts, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"{"PROCESS",-22} {"SAMPLES",7} {"RSS@WARM",10} {"RSS@END",10} {"SLOPE/MIN",10} {"FDS@WARM",8} {"FDS@END",8} {"THREADS",7}  VERDICT");
        foreach (SoakVerdict v in verdicts)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{v.Process,-22} {v.Samples,7} {SoakVerdict.Mb(v.RssAfterWarmUp),10} {SoakVerdict.Mb(v.RssAtEnd),10} {SoakVerdict.Mb(v.RssSlopeBytesPerMinute),10} {v.FilesAfterWarmUp,8} {v.FilesAtEnd,8} {v.ThreadsAtEnd,7}  {(v.Process.EndsWith("(killed)", StringComparison.Ordinal) ? "not judged" : v.Passed ? "flat" : "FAILED")}"));
        }
    }

    private static void WriteJson(string path, IEnumerable<SoakVerdict> verdicts, double minutes, double warmUp, SoakTolerance tolerance, double seconds, bool passed)
    {
        var results = new List<BenchResult>();
        foreach (SoakVerdict v in verdicts)
        {
            string key = v.Process.Replace(' ', '_').Replace("(", "").Replace(")", "");
            results.Add(new BenchResult($"{key}_rss_growth_bytes", v.RssAtEnd - v.RssAfterWarmUp, "B") { Extra = { ["process"] = v.Process, ["rss_after_warm_up"] = v.RssAfterWarmUp, ["rss_at_end"] = v.RssAtEnd } });
            results.Add(new BenchResult($"{key}_fd_growth", v.FilesAtEnd - v.FilesAfterWarmUp, "descriptors") { Extra = { ["process"] = v.Process } });
            results.Add(new BenchResult($"{key}_rss_slope", v.RssSlopeBytesPerMinute, "B/min") { Extra = { ["process"] = v.Process, ["passed"] = v.Passed } });
        }
        results.Add(new BenchResult("seconds", seconds, "s"));
        results.Add(new BenchResult("passed", passed ? 1 : 0, ""));
        JsonReport.Write(path, "soak", new Dictionary<string, object>
        {
            ["minutes"] = minutes, ["warm_up_seconds"] = warmUp, ["rss_tolerance_bytes"] = tolerance.RssBytes,
            ["rss_tolerance_fraction"] = tolerance.RssFraction, ["fd_tolerance"] = tolerance.Files,
        }, results);
    }

    // "scheduler (psf local)" for the job's own process, "server 0", "worker 1" … for its children in order of appearance.
    private static string Name(int pid, int root, IEnumerable<string> taken)
    {
        if (pid == root)
            return "scheduler (psf local)";
        string role = ProcessSample.CommandLine(pid).Split(' ').FirstOrDefault(a => a is "server" or "worker") ?? "child";
        int index = taken.Count(n => n.StartsWith(role + " ", StringComparison.Ordinal));
        return $"{role} {index}";
    }

    // The running psf again: the apphost directly, or `dotnet psf.dll` when started that way.
    // The job's processes (psf local, and every node it starts, which inherit it) run with a
    // 16 MiB gen0 budget unless one is set already. The runtime sizes gen0 from the last-level
    // cache, and on a machine that reports 300 MiB of L3 a quiet process allocated garbage for
    // minutes before its first collection: workers and the scheduler "grew" 64-68 MiB over shared
    // memory with under 1 MiB live (a heap dump), and with this budget every process was flat.
    private const string Gen0BudgetVariable = "DOTNET_GCgen0size", Gen0Budget = "0x1000000";

    private static Process StartSelf(IEnumerable<string> arguments)
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which executable is running");
        var info = new ProcessStartInfo(process) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(process) == "dotnet")
            info.ArgumentList.Add(typeof(SoakCommand).Assembly.Location);
        foreach (string a in arguments)
            info.ArgumentList.Add(a);
        if (Environment.GetEnvironmentVariable(Gen0BudgetVariable) is null)
            info.Environment[Gen0BudgetVariable] = Gen0Budget;
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {process}");
    }
}
