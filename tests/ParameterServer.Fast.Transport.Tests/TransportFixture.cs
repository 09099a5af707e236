using ParameterServer.Fast.Transport.Connections;
using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.InProc;
using ParameterServer.Fast.Transport.Rdma;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Shm;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Transport.Tests;

internal static class TransportFixture
{
    public static readonly ClusterSecret Secret = ClusterSecret.FromText("a test secret that is long enough");

    /// <summary>
    /// tcp4/tcp6: the default engine (.NET sockets); tcp-native/tcp6-native: the shim's engine;
    /// tls: SslStream; rdma-fake: the RDMA transport over the shim's in-memory fake verbs, with
    /// small buffers so frames cross the message/write and chunk boundaries (4080 and 262 136 bytes).
    /// </summary>
    public static IEnumerable<string> Kinds() => ["inproc", "shm", "tcp4", "tcp6", "tcp-native", "tcp6-native", "tls", "rdma-fake"];

    public static readonly RdmaOptions FakeRdma = new()
    {
        Verbs = RdmaVerbs.Fake,
        RecvSlots = 64,
        SlotBytes = 4096,
        RegionBytes = 1 << 20,
        ChunkBytes = 256 * 1024,
        StagingChunks = 4,
        MrCacheBytes = 4 << 20,
    };

    public static (ITransport Transport, Endpoint Endpoint) Create(string kind, ClusterSecret? secret = null, ILogger? logger = null) => kind switch
    {
        "inproc" => (new InProcTransport(secret ?? Secret), Endpoint.Parse($"inproc://t-{Guid.NewGuid():N}")),
        "shm" => (new ShmTransport(secret ?? Secret, logger), Endpoint.Parse($"shm://t-{Guid.NewGuid():N}")),
        "tcp4" => (new TcpTransport(secret ?? Secret, logger), Endpoint.Parse("tcp://127.0.0.1:0")),
        "tcp6" => (new TcpTransport(secret ?? Secret, logger), Endpoint.Parse("tcp://[::1]:0")),
        "tcp-native" => (new TcpTransport(secret ?? Secret, logger, engine: TcpEngine.Native), Endpoint.Parse("tcp://127.0.0.1:0")),
        "tcp6-native" => (new TcpTransport(secret ?? Secret, logger, engine: TcpEngine.Native), Endpoint.Parse("tcp://[::1]:0")),
        "tls" => (new TcpTransport(secret ?? Secret, logger, tls: TlsOptions.SelfSigned()), Endpoint.Parse("tcp://127.0.0.1:0")),
        "rdma-fake" => (new RdmaTransport(secret ?? Secret, logger, FakeRdma), Endpoint.Parse("rdma://127.0.0.1:0")),
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
        if (kind.StartsWith("tcp6", StringComparison.Ordinal) && !Ipv6Works())
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
