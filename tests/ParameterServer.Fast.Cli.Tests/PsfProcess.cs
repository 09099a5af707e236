using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace ParameterServer.Fast.Cli.Tests;

/// <summary>
/// `psf` as a real process (the test host's build of the CLI under `dotnet`), its output captured;
/// every run bounded in time, and killed with its whole process tree when it overruns.
/// </summary>
internal sealed class PsfProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private PsfProcess(string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(typeof(CliMain).Assembly.Location);
        foreach (string a in args)
            info.ArgumentList.Add(a);
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static PsfProcess Start(params string[] args) => new(args);

    /// <summary>Runs psf to the end (at most <paramref name="timeout"/>, default 3 minutes): its exit code and output.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string[] args, TimeSpan? timeout = null)
    {
        using PsfProcess p = Start(args);
        int code = await p.WaitAsync(timeout ?? TimeSpan.FromMinutes(3));
        return (code, p.Output);
    }

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>Waits for the exit; past <paramref name="timeout"/> the tree is killed and the test fails.</summary>
    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"psf did not finish within {timeout.TotalSeconds:0} s; output:\n{Output}");
        }
        // The asynchronous readers may still hold the last lines: the parameterless wait drains them.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>SIGKILL to psf and every process it started (servers, workers), as a machine losing power would; waits until psf is gone.</summary>
    public void KillTree()
    {
        _process.Kill(entireProcessTree: true);
        if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
            Assert.Fail("psf outlived SIGKILL for 10 s");
    }

    public int Id => _process.Id;

    /// <summary>The value of result <paramref name="name"/> in a `--json FILE` report.</summary>
    public static double Result(string jsonPath, string name)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(jsonPath));
        return doc.RootElement.GetProperty("results").EnumerateArray().First(r => r.GetProperty("name").GetString() == name).GetProperty("value").GetDouble();
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
