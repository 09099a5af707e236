using System.Security.Cryptography;

namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// A job of real `psf scheduler|server|worker` processes spread over a <see cref="NetworkLab"/>:
/// node 0 is the scheduler, nodes 1..S the servers, the rest the workers, all over TCP between
/// the namespaces' addresses. Every process is killed when the job is disposed.
/// </summary>
internal sealed class ChaosJob : IDisposable
{
    private const int SchedulerPort = 7070;
    private readonly NetworkLab _lab;
    private readonly Dictionary<string, string> _environment;
    private readonly List<PsfChild> _processes = [];

    public ChaosJob(NetworkLab lab, int servers, int workers, string json)
    {
        if (lab.Nodes < 1 + servers + workers)
            throw new ArgumentException($"the lab has {lab.Nodes} nodes, the job needs {1 + servers + workers}");
        _lab = lab;
        Servers = servers;
        Workers = workers;
        Json = json;
        _environment = new Dictionary<string, string>
        {
            ["PSF_SECRET"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
            ["PSF_PROGRESS"] = "plain",
        };
    }

    public int Servers { get; }

    public int Workers { get; }

    public string Json { get; }

    public PsfChild? Scheduler { get; private set; }

    public string SchedulerAddress => $"tcp://{_lab.Address(0)}:{SchedulerPort}";

    /// <summary>The lab node of server <paramref name="rank"/> (in order of starting).</summary>
    public static int ServerNode(int rank) => 1 + rank;

    /// <summary>Starts every process; returns once the scheduler listens (bounded).</summary>
    public async Task StartAsync(int replicas, string[] app)
    {
        Scheduler = Start(0, ["scheduler", "--listen", SchedulerAddress, "--servers", Servers.ToString(), "--workers", Workers.ToString(),
            "--replicas", replicas.ToString(), "--json", Json]);
        if (!await Scheduler.WaitForOutputAsync("psf scheduler listening", TimeSpan.FromSeconds(60)))
            Assert.Fail($"the scheduler did not start listening:\n{Scheduler.Output}");
        for (int s = 0; s < Servers; s++)
            Start(ServerNode(s), ["server", "--scheduler", SchedulerAddress, "--listen", $"tcp://{_lab.Address(ServerNode(s))}:0"]);
        for (int w = 0; w < Workers; w++)
            Start(1 + Servers + w, ["worker", "--scheduler", SchedulerAddress, .. app]);
    }

    private PsfChild Start(int node, string[] args)
    {
        PsfChild p = PsfChild.Start(args, _environment, _lab.Exec(node));
        _processes.Add(p);
        return p;
    }

    /// <summary>Waits (bounded) until the scheduler reports training progress.</summary>
    public async Task WaitForTrainingAsync()
    {
        if (!await Scheduler!.WaitForOutputAsync("iterations ", TimeSpan.FromSeconds(90)))
            Assert.Fail($"no progress from the workers:\n{Log()}");
    }

    /// <summary>Waits (bounded) for the scheduler to end the job; fails the test with every log when it does not.</summary>
    public async Task FinishAsync(TimeSpan timeout)
    {
        if (!await Scheduler!.WaitForExitAsync(timeout))
            Assert.Fail($"the job did not finish within {timeout.TotalSeconds} s:\n{Log()}");
        await Scheduler.WaitForExitAsync(TimeSpan.FromSeconds(5));
        Assert.That(Scheduler.ExitCode, Is.EqualTo(0), Log());
    }

    /// <summary>Every process's output, labelled.</summary>
    public string Log() => string.Join("\n", _processes.Select((p, i) => $"--- node {i} ---\n{p.Output}"));

    public void Dispose()
    {
        foreach (PsfChild p in _processes)
            p.Dispose();
    }
}
