using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.InProc;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Shm;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Transport.Tests;

internal static class TransportFixture
{
    public static readonly ClusterSecret Secret = ClusterSecret.FromText("a test secret that is long enough");

    public static IEnumerable<string> Kinds() => ["inproc", "shm", "tcp4", "tcp6", "tls"];

    public static (ITransport Transport, Endpoint Endpoint) Create(string kind, ClusterSecret? secret = null) => kind switch
    {
        "inproc" => (new InProcTransport(secret ?? Secret), Endpoint.Parse($"inproc://t-{Guid.NewGuid():N}")),
        "shm" => (new ShmTransport(secret ?? Secret), Endpoint.Parse($"shm://t-{Guid.NewGuid():N}")),
        "tcp4" => (new TcpTransport(secret ?? Secret), Endpoint.Parse("tcp://127.0.0.1:0")),
        "tcp6" => (new TcpTransport(secret ?? Secret), Endpoint.Parse("tcp://[::1]:0")),
        "tls" => (new TcpTransport(secret ?? Secret, tls: TlsOptions.SelfSigned()), Endpoint.Parse("tcp://127.0.0.1:0")),
        _ => throw new ArgumentException(kind),
    };

    public static bool Ipv6Works()
    {
        try
        {
            using var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetworkV6, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            s.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>A connected pair: (client side, server side).</summary>
    public static async Task<(IConnection Client, IConnection Server, IListener Listener)> Connect(string kind)
    {
        if (kind == "tcp6" && !Ipv6Works())
            Assert.Ignore("IPv6 loopback is not available on this machine");
        (ITransport transport, Endpoint endpoint) = Create(kind);
        IListener listener = transport.Listen(endpoint);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        ValueTask<IConnection> accept = listener.AcceptAsync(cts.Token);
        IConnection client = await transport.ConnectAsync(listener.LocalEndpoint, cts.Token);
        IConnection server = await accept;
        return (client, server, listener);
    }
}
