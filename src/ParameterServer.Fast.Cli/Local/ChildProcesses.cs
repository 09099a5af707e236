using System.Diagnostics;

namespace ParameterServer.Fast.Cli.Local;

/// <summary>
/// The servers and workers of `psf local` as child processes of this one (the same psf binary
/// with a role verb). Their stderr is relayed with the role as a prefix; an early non-zero exit
/// fails the job with that child's name; on disposal every child still running is killed.
/// </summary>
internal sealed class ChildProcesses(TextWriter output, IReadOnlyDictionary<string, string> environment) : IDisposable
{
    private readonly List<(string Name, Process Process)> _children = [];
    private readonly HashSet<Process> _killed = [];
    private readonly Dictionary<string, IReadOnlyList<string>> _arguments = [];
    private readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with a message when any child exits with a failure.</summary>
    public Task<string> Failure => _failed.Task;

    public IReadOnlyList<(string Name, Process Process)> Children => _children;

    public void Start(string name, IEnumerable<string> arguments)
    {
        _arguments[name] = [.. arguments];
        (string file, IEnumerable<string> prefix) = Self();
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string a in prefix.Concat(arguments))
            info.ArgumentList.Add(a);
        foreach ((string key, string value) in environment)
            info.Environment[key] = value;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (output)
                    output.WriteLine($"  [{name}] {e.Data}");
        };
        process.OutputDataReceived += (_, _) => { };
        process.Exited += (_, _) =>
        {
            int code = process.ExitCode;
            bool killed;
            lock (_killed)
                killed = _killed.Contains(process);
            if (code != 0 && !killed)
                _failed.TrySetResult($"{name} exited with code {code}");
        };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _children.Add((name, process));
    }

    /// <summary>Fault injection: SIGKILL the named child now (its exit is then expected, not a failure).</summary>
    public void Kill(string name)
    {
        (string _, Process process) = _children.LastOrDefault(c => c.Name == name);
        if (process is null || process.HasExited)
            throw new InvalidOperationException($"no running child named '{name}' to kill");
        lock (_killed)
            _killed.Add(process);
        process.Kill(entireProcessTree: false);
    }

    /// <summary>Starts the named child again with its arguments (a replacement for a killed worker).</summary>
    public void Restart(string name) => Start(name, _arguments[name]);

    /// <summary>Waits (bounded) for every child to exit by itself after the job finished.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await Task.WhenAll(_children.Select(c => c.Process.WaitForExitAsync(cts.Token))).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Dispose kills the stragglers.
        }
    }

    // The running psf: the apphost directly, or `dotnet psf.dll` when started that way.
    private static (string File, IEnumerable<string> Prefix) Self()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which executable is running");
        string name = Path.GetFileNameWithoutExtension(process);
        return name == "dotnet" ? (process, [typeof(ChildProcesses).Assembly.Location]) : (process, []);
    }

    public void Dispose()
    {
        foreach ((_, Process p) in _children)
        {
            try
            {
                if (!p.HasExited)
                    p.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            p.Dispose();
        }
    }
}
