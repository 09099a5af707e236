using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace ParameterServer.Fast.Cli.Tests;

/// <summary>
/// `psf` as a child process of a test (`dotnet psf.dll ...`, optionally behind a prefix such as
/// `ip netns exec NAME`): its output collected, every wait bounded, killed with its tree when
/// disposed.
/// </summary>
internal sealed class PsfChild : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private PsfChild(Process process) => _process = process;

    public static string Dll => typeof(CliMain).Assembly.Location;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Stdout and stderr so far, interleaved as they came.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public static PsfChild Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, IEnumerable<string>? prefix = null)
    {
        string[] front = prefix?.ToArray() ?? [];
        var info = new ProcessStartInfo(front.Length > 0 ? front[0] : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in front.Skip(1))
            info.ArgumentList.Add(a);
        if (front.Length > 0)
            info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(Dll);
        foreach (string a in args)
            info.ArgumentList.Add(a);
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
            info.Environment[key] = value;
        var process = new Process { StartInfo = info };
        var p = new PsfChild(process);
        process.OutputDataReceived += (_, e) => p.Append(e.Data);
        process.ErrorDataReceived += (_, e) => p.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return p;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    /// <summary>Waits for the process to exit by itself; false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Waits (bounded) until the output contains <paramref name="text"/>.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (Output.Contains(text, StringComparison.Ordinal))
                return true;
            if (_process.HasExited)
                return Output.Contains(text, StringComparison.Ordinal);
            await Task.Delay(50);
        }
        return false;
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>Runs psf to the end (at most <paramref name="timeout"/>, then killed) and returns its exit code and output.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string[] args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        using PsfChild p = Start(args, environment);
        if (!await p.WaitForExitAsync(timeout))
        {
            p.Kill();
            Assert.Fail($"psf {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s:\n{p.Output}");
        }
        await p.WaitForExitAsync(TimeSpan.FromSeconds(5)); // drains the output
        return (p.ExitCode, p.Output);
    }

    /// <summary>The value of result <paramref name="name"/> in a --json report.</summary>
    public static double Result(string json, string name)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(json));
        return doc.RootElement.GetProperty("results").EnumerateArray().First(r => r.GetProperty("name").GetString() == name).GetProperty("value").GetDouble();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
