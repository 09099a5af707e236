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
    private readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with a message when any child exits with a failure.</summary>
    public Task<string> Failure => _failed.Task;

    public IReadOnlyList<(string Name, Process Process)> Children => _children;

    public void Start(string name, IEnumerable<string> arguments)
    {
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
            if (code != 0)
                _failed.TrySetResult($"{name} exited with code {code}");
        };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _children.Add((name, process));
    }

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
