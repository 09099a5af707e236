using System.Globalization;

namespace ParameterServer.Fast.Cli.Soak;

/// <summary>One reading of a process's resident memory, open descriptors and threads, from /proc.</summary>
public readonly record struct ProcessSample(double Seconds, long RssBytes, int OpenFiles, int Threads)
{
    /// <summary>Reads /proc/PID/status and /proc/PID/fd; null when the process is gone (or this is not Linux).</summary>
    public static ProcessSample? Read(int pid, double seconds)
    {
        try
        {
            long rss = -1;
            int threads = 0;
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                // "VmRSS:	  123456 kB", "Threads:	24"
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    rss = 1024 * long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                    threads = int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
            int files = Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
            return rss < 0 ? null : new ProcessSample(seconds, rss, files, threads);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The processes whose parent is <paramref name="pid"/> (from /proc/*/stat).</summary>
    public static IEnumerable<int> Children(int pid)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int child))
                continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // exited meanwhile
            }
            // "PID (name) STATE PPID ...": the name may hold spaces and parentheses, so parse after the last ')'.
            string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (rest.Length > 1 && int.TryParse(rest[1], NumberStyles.None, CultureInfo.InvariantCulture, out int parent) && parent == pid)
                yield return child;
        }
    }

    /// <summary>The command line of a process, arguments joined by spaces ("" when gone).</summary>
    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
