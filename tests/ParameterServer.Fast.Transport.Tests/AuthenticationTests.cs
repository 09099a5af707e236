using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.InProc;
using ParameterServer.Fast.Transport.Rdma;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Shm;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Transport.Tests;

public class AuthenticationTests
{
    private static readonly ClusterSecret s_wrong = ClusterSecret.FromText("another secret, just as long");
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    [TestCase("shm")]
    [TestCase("tcp4")]
    [TestCase("tcp-native")]
    [TestCase("tls")]
    [TestCase("rdma-fake")]
    public async Task AWrongSecretIsRefusedAndTheListenerCarriesOn(string kind)
    {
        var log = new ListLogger();
        (ITransport transport, Endpoint endpoint) = TransportFixture.Create(kind, logger: log);
        await using IListener listener = transport.Listen(endpoint);
        ITransport impostor = TransportFixture.Create(kind, s_wrong).Transport;
        var e = await Assert.ThrowsAsync<AuthenticationException>(async () => await impostor.ConnectAsync(listener.LocalEndpoint));
        Assert.That(e!.Message, Does.Contain("secret"));
        Assert.That(log.WaitFor(s_wait, "refused", "wrong cluster secret"), Is.Not.Null, string.Join("\n", log.Messages));
        using var cts = new CancellationTokenSource(s_wait);
        ValueTask<IConnection> accept = listener.AcceptAsync(cts.Token);
        await using IConnection good = await transport.ConnectAsync(listener.LocalEndpoint, cts.Token);
        await using IConnection accepted = await accept;
        Assert.That(accepted.IsConnected, Is.True);
    }

    [Test]
    public async Task AnInProcessNodeWithAWrongSecretIsRefused()
    {
        // Two transports on one in-process network: the listener's, and one with another key.
        var network = new InProcNetwork();
        var good = new InProcTransport(TransportFixture.Secret, network);
        var wrong = new InProcTransport(s_wrong, network);
        await using IListener listener = good.Listen(Endpoint.Parse($"inproc://auth-{Guid.NewGuid():N}"));
        var e = await Assert.ThrowsAsync<AuthenticationException>(async () => await wrong.ConnectAsync(listener.LocalEndpoint));
        Assert.That(e!.Message, Does.Contain("secret"));
        using var cts = new CancellationTokenSource(s_wait);
        ValueTask<IConnection> accept = listener.AcceptAsync(cts.Token);
        await using IConnection client = await good.ConnectAsync(listener.LocalEndpoint, cts.Token);
        await using IConnection accepted = await accept;
        Assert.That(accepted.IsConnected, Is.True);
    }

    [Test]
    public async Task TlsAndPlainNodesRefuseEachOther()
    {
        var tls = new TcpTransport(TransportFixture.Secret, tls: TlsOptions.SelfSigned());
        var plain = new TcpTransport(TransportFixture.Secret);
        await using IListener tlsListener = tls.Listen(Endpoint.Parse("tcp://127.0.0.1:0"));
        await using IListener plainListener = plain.Listen(Endpoint.Parse("tcp://127.0.0.1:0"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        Assert.That(async () => await plain.ConnectAsync(tlsListener.LocalEndpoint, cts.Token), Throws.InstanceOf<IOException>());
        Assert.That(async () => await tls.ConnectAsync(plainListener.LocalEndpoint, cts.Token), Throws.InstanceOf<Exception>());
    }

    [Test]
    public async Task TheTwoTcpEnginesTalkToEachOther()
    {
        var native = new TcpTransport(TransportFixture.Secret, engine: TcpEngine.Native);
        var managed = new TcpTransport(TransportFixture.Secret, engine: TcpEngine.Managed);
        foreach ((TcpTransport server, TcpTransport client) in new[] { (native, managed), (managed, native) })
        {
            await using IListener listener = server.Listen(Endpoint.Parse("tcp://127.0.0.1:0"));
            using var cts = new CancellationTokenSource(s_wait);
            ValueTask<IConnection> accept = listener.AcceptAsync(cts.Token);
            await using IConnection a = await client.ConnectAsync(listener.LocalEndpoint, cts.Token);
            await using IConnection b = await accept;
            var received = new CollectingHandler();
            b.Start(received);
            a.Start(new CollectingHandler());
            byte[] big = new byte[300_000];
            Random.Shared.NextBytes(big);
            await a.SendAsync(new byte[] { 1, 2, 3 });
            await a.SendAsync(big);
            await received.WaitForFrames(2, s_wait);
            Assert.That(received.Frames.Last(), Is.EqualTo(big), $"{client.Engine} → {server.Engine}");
        }
    }

    // An HTTP request where the proof should be: the acceptor hangs up without parsing it as a
    // frame, and logs the refusal with the peer's address (the raw socket's own port).
    [TestCase("tcp4")]
    [TestCase("tcp-native")]
    [TestCase("rdma-fake")]
    public async Task GarbageBeforeTheHandshakeIsRefusedAndLoggedWithThePeersAddress(string kind)
    {
        var log = new ListLogger();
        (ITransport transport, Endpoint endpoint) = TransportFixture.Create(kind, logger: log);
        await using IListener listener = transport.Listen(endpoint);
        var frames = new CollectingHandler();
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await raw.ConnectAsync(listener.LocalEndpoint.ToIPEndPoint());
        int port = ((IPEndPoint)raw.LocalEndPoint!).Port;
        var hello = new byte[Handshake.HelloBytes];
        await raw.ReceiveAsync(hello);
        byte[] garbage = new byte[Handshake.ProofBytes];
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.CopyTo(garbage);
        await raw.SendAsync(garbage);
        var buffer = new byte[64];
        using var cts = new CancellationTokenSource(s_wait);
        int read = await raw.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        Assert.That(read, Is.EqualTo(0), "the acceptor closes the connection");
        string? line = log.WaitFor(s_wait, "refused", $"127.0.0.1:{port}", "not a psf peer");
        Assert.That(line, Is.Not.Null, string.Join("\n", log.Messages));
        TestContext.Out.WriteLine(line);
        // Nothing was accepted: the next accept is still waiting.
        ValueTask<IConnection> accept = listener.AcceptAsync(new CancellationTokenSource(200).Token);
        Assert.That(async () => await accept, Throws.InstanceOf<OperationCanceledException>());
    }

    // The shm handshake runs inside the segment: a process that attaches and writes a record
    // before proving the secret is refused, and the log names its pid.
    [Test]
    public async Task AShmPeerThatWritesBeforeTheHandshakeIsRefusedAndLogged()
    {
        var log = new ListLogger();
        (ITransport transport, Endpoint endpoint) = TransportFixture.Create("shm", logger: log);
        await using IListener listener = transport.Listen(endpoint);
        using var rendezvous = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await rendezvous.ConnectAsync(ShmTransport.Rendezvous(endpoint));
        var header = new byte[2];
        await rendezvous.ReceiveAsync(header);
        var name = new byte[BinaryPrimitives.ReadUInt16LittleEndian(header)];
        await rendezvous.ReceiveAsync(name);
        using ShmChannel channel = ShmChannel.Attach(Encoding.ASCII.GetString(name));
        await rendezvous.SendAsync(new byte[] { 0 });
        Assert.That(channel.Send(2, "a frame, not a proof"u8, 1_000_000_000), Is.EqualTo(NativeStatus.Ok));
        string? line = log.WaitFor(s_wait, "refused", $"pid {Environment.ProcessId}", "before the handshake");
        Assert.That(line, Is.Not.Null, string.Join("\n", log.Messages));
        TestContext.Out.WriteLine(line);
    }
}
