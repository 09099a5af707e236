using System.Security.Cryptography;

namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// A job of real `psf scheduler|server|worker` processes spread over a <see cref="NetworkLab"/>:
/// node 0 is the scheduler, nodes 1..S the servers, the rest the workers, all over TCP between
/// the namespaces' addresses. With a <see cref="RelayDelay"/> the scheduler and every server
/// listen on their node's address and are reached only through a <see cref="DelayRelay"/> on the
/// node's relay address (servers advertise it), so every connection of the job crosses one relay
/// and each of its round trips gains twice the delay, as with netem on every node's link. Every
/// process is killed when the job is disposed.
/// </summary>
internal sealed class ChaosJob : IDisposable
{
    private const int SchedulerPort = 7070;
    private const int ServerPort = 7000;
    private readonly NetworkLab _lab;
    private readonly Dictionary<string, string> _environment;
    private readonly List<PsfChild> _processes = [];
    private readonly List<DelayRelay> _relays = [];
    private readonly List<PsfChild> _servers = [];

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

    /// <summary>Delay each way added by relays in front of the scheduler and the servers; none when zero.</summary>
    public TimeSpan RelayDelay { get; init; }

    /// <summary>The relays of the job, the scheduler's first; empty without a <see cref="RelayDelay"/>.</summary>
    public IReadOnlyList<DelayRelay> Relays => _relays;

    public string SchedulerAddress => $"tcp://{DialedAddress(0)}:{SchedulerPort}";

    // The address peers dial to reach a node's scheduler or server: its relay's when there is one.
    private string DialedAddress(int node) => RelayDelay > TimeSpan.Zero ? _lab.RelayAddress(node) : _lab.Address(node);

    /// <summary>The process of server <paramref name="rank"/> (in order of starting).</summary>
    public PsfChild Server(int rank) => _servers[rank];

    /// <summary>The lab node of server <paramref name="rank"/> (in order of starting).</summary>
    public static int ServerNode(int rank) => 1 + rank;

    /// <summary>Starts every process; returns once the scheduler listens (bounded).</summary>
    public async Task StartAsync(int replicas, string[] app)
    {
        if (RelayDelay > TimeSpan.Zero)
        {
            _relays.Add(_lab.StartRelay(0, SchedulerPort, RelayDelay));
            for (int s = 0; s < Servers; s++)
                _relays.Add(_lab.StartRelay(ServerNode(s), ServerPort, RelayDelay));
        }
        Scheduler = Start(0, ["scheduler", "--listen", $"tcp://{_lab.Address(0)}:{SchedulerPort}", "--servers", Servers.ToString(), "--workers", Workers.ToString(),
            "--replicas", replicas.ToString(), "--json", Json]);
        if (!await Scheduler.WaitForOutputAsync("psf scheduler listening", TimeSpan.FromSeconds(60)))
            Assert.Fail($"the scheduler did not start listening:\n{Scheduler.Output}");
        for (int s = 0; s < Servers; s++)
        {
            // A fixed port behind a relay: the advertised endpoint is the relay address with the listen port.
            string[] listen = RelayDelay > TimeSpan.Zero
                ? ["--listen", $"tcp://{_lab.Address(ServerNode(s))}:{ServerPort}", "--advertise", _lab.RelayAddress(ServerNode(s))]
                : ["--listen", $"tcp://{_lab.Address(ServerNode(s))}:0"];
            _servers.Add(Start(ServerNode(s), ["server", "--scheduler", SchedulerAddress, .. listen]));
        }
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
