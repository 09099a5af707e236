using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// A small network of Linux network namespaces for chaos tests: one namespace per node, each with
/// its own address on a veth link to a bridge in a "switch" namespace, so nodes talk over real
/// (virtual) links that can be impaired and cut, never over the host's network. Names carry a
/// random prefix, so runs never meet; disposing stops the lab's relays and deletes every
/// namespace (and so every link). Each node has a second address on its link, where a
/// <see cref="DelayRelay"/> of the lab can stand in front of a program of that node.
/// <code>
///   [psfXXXX-0] 10.N.0.1, relay 10.N.0.129 ─veth─┐
///   [psfXXXX-1] 10.N.0.2, relay 10.N.0.130 ─veth─┼─ br0 [psfXXXX-sw]
///   [psfXXXX-k] 10.N.0.k+1, 10.N.0.k+129 ────────┘
/// </code>
/// </summary>
internal sealed class NetworkLab : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);

    // Node addresses take 1..125 of the /24, relay addresses 129..253.
    private const int MaxNodes = 125;
    private const int RelayHostOffset = 128;

    // The port of the round-trip probe's echo and its relay; psf's ports are 7000 and 7070.
    private const int ProbePort = 7999;

    private readonly string _prefix;
    private readonly int _subnet;
    private readonly List<string> _namespaces = [];
    private readonly List<DelayRelay> _relays = [];

    private NetworkLab(int nodes)
    {
        if (nodes is < 1 or > MaxNodes)
            throw new ArgumentOutOfRangeException(nameof(nodes), nodes, $"a lab has 1 to {MaxNodes} nodes");
        _prefix = "psf" + Guid.NewGuid().ToString("N")[..5];
        _subnet = Random.Shared.Next(16, 250);
        Nodes = nodes;
    }

    public int Nodes { get; }

    public string Switch => $"{_prefix}-sw";

    public string Namespace(int node) => $"{_prefix}-{node}";

    public string Address(int node) => string.Create(CultureInfo.InvariantCulture, $"10.{_subnet}.0.{node + 1}");

    /// <summary>The second address of <paramref name="node"/>, where its relays listen.</summary>
    public string RelayAddress(int node) => string.Create(CultureInfo.InvariantCulture, $"10.{_subnet}.0.{node + 1 + RelayHostOffset}");

    /// <summary>The command prefix that runs a program inside <paramref name="node"/>'s namespace.</summary>
    public string[] Exec(int node) => ["ip", "netns", "exec", Namespace(node)];

    private string NodeLink(int node) => $"{_prefix}n{node}";

    private string SwitchPort(int node) => $"{_prefix}s{node}";

    /// <summary>Why namespaces cannot be made here, or null when they can (tried for real, then removed).</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux())
            return "network namespaces need Linux";
        if (Environment.UserName != "root" && Run("id", "-u").Output.Trim() != "0")
            return "creating network namespaces needs root";
        string probe = "psfprobe" + Guid.NewGuid().ToString("N")[..5];
        (int code, string output) = Run("ip", "netns", "add", probe);
        if (code != 0)
            return $"'ip netns add' failed ({code}): {output.Trim()}";
        Run("ip", "netns", "del", probe);
        return null;
    }

    public static NetworkLab Create(int nodes)
    {
        var lab = new NetworkLab(nodes);
        try
        {
            lab.Build();
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    private void Build()
    {
        AddNamespace(Switch);
        Must("ip", "-n", Switch, "link", "add", "br0", "type", "bridge");
        Must("ip", "-n", Switch, "link", "set", "br0", "up");
        for (int i = 0; i < Nodes; i++)
        {
            string ns = Namespace(i);
            AddNamespace(ns);
            Must("ip", "link", "add", NodeLink(i), "netns", ns, "type", "veth", "peer", "name", SwitchPort(i), "netns", Switch);
            Must("ip", "-n", Switch, "link", "set", SwitchPort(i), "master", "br0", "up");
            Must("ip", "-n", ns, "addr", "add", $"{Address(i)}/24", "dev", NodeLink(i));
            Must("ip", "-n", ns, "addr", "add", $"{RelayAddress(i)}/24", "dev", NodeLink(i));
            Must("ip", "-n", ns, "link", "set", NodeLink(i), "up");
            Must("ip", "-n", ns, "link", "set", "lo", "up");
        }
    }

    private void AddNamespace(string name)
    {
        Must("ip", "netns", "add", name);
        _namespaces.Add(name);
    }

    /// <summary>
    /// Delay and loss on everything <paramref name="node"/> sends over its link: tc netem where the
    /// kernel has it; otherwise loss alone through an nftables rule (random drop), where nft is
    /// installed, and the delay is left to relays (<see cref="StartRelay"/>): the kernel of the
    /// build machines has no sch_netem. Says what was applied and what is left to relays.
    /// </summary>
    public LinkImpairment Impair(int node, TimeSpan delay, double lossPercent)
    {
        string ns = Namespace(node);
        string delayText = delay.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms", loss = lossPercent.ToString(CultureInfo.InvariantCulture) + "%";
        (int code, string netem) = Run("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", NodeLink(node), "root", "netem", "delay", delayText, "loss", loss);
        if (code == 0)
            return new LinkImpairment($"netem delay {delayText} loss {loss}", TimeSpan.Zero, Impaired: true);
        string why = $"tc netem unavailable ({netem.Trim()})";
        int perMille = (int)Math.Round(lossPercent * 10);
        // Only packets leaving by the link: a relay's hop to its own node's program goes over lo
        // and is no link, so it loses nothing.
        string[][] rules =
        [
            ["add", "table", "inet", "psfchaos"],
            ["add", "chain", "inet", "psfchaos", "out", "{ type filter hook output priority 0 ; policy accept ; }"],
            ["add", "rule", "inet", "psfchaos", "out", "oifname", NodeLink(node), "numgen", "random", "mod", "1000", "lt", perMille.ToString(CultureInfo.InvariantCulture), "counter", "drop"],
        ];
        foreach (string[] rule in rules)
        {
            (code, string nft) = Run("ip", ["netns", "exec", ns, "nft", .. rule]);
            if (code != 0)
                return new LinkImpairment($"{why}, nftables unavailable ({nft.Trim()}): no impairment", delay, Impaired: false);
        }
        return new LinkImpairment($"{why}: loss {loss} by an nftables random drop, delay {delayText} each way left to relays", delay, Impaired: true);
    }

    /// <summary>
    /// A relay in <paramref name="node"/>'s namespace from its relay address to its own address,
    /// both on <paramref name="port"/>, <paramref name="delay"/> each way; stopped with the lab.
    /// A program of the node listens on its address and gives the relay address to its peers.
    /// </summary>
    public DelayRelay StartRelay(int node, int port, TimeSpan delay)
    {
        DelayRelay relay = DelayRelay.Start(NetworkNamespace.SocketFactory(Namespace(node)),
            new IPEndPoint(IPAddress.Parse(RelayAddress(node)), port), new IPEndPoint(IPAddress.Parse(Address(node)), port), delay);
        lock (_relays)
            _relays.Add(relay);
        return relay;
    }

    /// <summary>
    /// TCP round trips from <paramref name="from"/> to an echo in <paramref name="to"/>, straight
    /// over the links and through a relay of <paramref name="delay"/> each way in front of it.
    /// </summary>
    public async Task<(RoundTripProbe.Result Direct, RoundTripProbe.Result Relayed)> ProbeRoundTripsAsync(int from, int to, TimeSpan delay, int pings)
    {
        // 30 s: the links lose packets, and a lost SYN alone costs 1 s before it is sent again.
        TimeSpan timeout = TimeSpan.FromSeconds(30);
        using var echo = EchoListener.Start(NetworkNamespace.SocketFactory(Namespace(to)), new IPEndPoint(IPAddress.Parse(Address(to)), ProbePort));
        using DelayRelay relay = DelayRelay.Start(NetworkNamespace.SocketFactory(Namespace(to)),
            new IPEndPoint(IPAddress.Parse(RelayAddress(to)), ProbePort), echo.LocalEndPoint, delay);
        Func<Socket> sockets = NetworkNamespace.SocketFactory(Namespace(from));
        RoundTripProbe.Result direct = await RoundTripProbe.MeasureAsync(sockets, echo.LocalEndPoint, pings, timeout);
        RoundTripProbe.Result relayed = await RoundTripProbe.MeasureAsync(sockets, relay.LocalEndPoint, pings, timeout);
        return (direct, relayed);
    }

    /// <summary>Packets the impairment of <paramref name="node"/> dropped so far (netem's or the nftables rule's count).</summary>
    public long Dropped(int node)
    {
        string ns = Namespace(node);
        (int code, string output) = Run("ip", "netns", "exec", ns, "tc", "-s", "qdisc", "show", "dev", NodeLink(node));
        if (code == 0 && output.Contains("netem", StringComparison.Ordinal))
            return Count(output, @"dropped (\d+)");
        (code, output) = Run("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "psfchaos");
        return code == 0 ? Count(output, @"counter packets (\d+)") : 0;
    }

    private static long Count(string text, string pattern) =>
        System.Text.RegularExpressions.Regex.Match(text, pattern) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    /// <summary>Cuts <paramref name="node"/> off: its switch port goes down, so nothing reaches it or leaves it.</summary>
    public void Partition(int node) => Must("ip", "-n", Switch, "link", "set", SwitchPort(node), "down");

    private static void Must(string file, params string[] args)
    {
        (int code, string output) = Run(file, args);
        if (code != 0)
            throw new InvalidOperationException($"'{file} {string.Join(' ', args)}' failed ({code}): {output.Trim()}");
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
            info.ArgumentList.Add(a);
        try
        {
            using Process p = Process.Start(info)!;
            Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(CommandTimeout))
            {
                p.Kill(entireProcessTree: true);
                return (-1, $"timed out after {CommandTimeout.TotalSeconds} s");
            }
            return (p.ExitCode, stdout.GetAwaiter().GetResult() + stderr.GetAwaiter().GetResult());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"{file}: {e.Message}");
        }
    }

    /// <summary>Deletes every namespace of the lab; their links go with them.</summary>
    public void Dispose()
    {
        lock (_relays)
        {
            foreach (DelayRelay relay in _relays)
                relay.Dispose();
            _relays.Clear();
        }
        foreach (string ns in Enumerable.Reverse(_namespaces))
        {
            (int code, string output) = Run("ip", "netns", "del", ns);
            if (code != 0)
                TestContext.Out.WriteLine($"could not delete namespace {ns}: {output.Trim()}");
        }
        _namespaces.Clear();
    }
}
