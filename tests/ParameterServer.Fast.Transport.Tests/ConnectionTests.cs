using System.Net.Sockets;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Transport.Tests;

[TestFixtureSource(typeof(TransportFixture), nameof(TransportFixture.Kinds))]
public class ConnectionTests(string kind)
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    [Test]
    public async Task FramesOfEverySizeArriveIntactAndInOrder()
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        var handler = new CollectingHandler();
        server.Start(handler);
        client.Start(new CollectingHandler());
        int[] sizes = [0, 1, 3, 4095, 4096, 65535, 65536, 65537, 262_143, 262_145, 1 << 20, (16 << 20) + 5];
        var rng = new Random(1);
        var sent = new List<byte[]>();
        foreach (int size in sizes)
        {
            var frame = new byte[size];
            rng.NextBytes(frame);
            sent.Add(frame);
            // Split into up to four segments at random cut points: the peer must see one frame.
            int a = rng.Next(size + 1), b = rng.Next(a, size + 1), c = rng.Next(b, size + 1);
            await client.SendAsync(new FrameSegments(frame.AsMemory(0, a), frame.AsMemory(a, b - a), frame.AsMemory(b, c - b), frame.AsMemory(c)));
        }
        await handler.WaitForFrames(sizes.Length, s_wait);
        Assert.That(handler.Frames.ToArray(), Is.EqualTo(sent));
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Test]
    public async Task ManyThreadsSendingAtOnceNeverInterleaveFrames()
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        var handler = new CollectingHandler();
        server.Start(handler);
        const int threads = 8, perThread = 500;
        await Task.WhenAll(Enumerable.Range(0, threads).Select(t => Task.Run(async () =>
        {
            var rng = new Random(t);
            for (int i = 0; i < perThread; i++)
            {
                int size = rng.Next(8, 3000);
                var frame = new byte[size];
                BitConverter.TryWriteBytes(frame, t);
                BitConverter.TryWriteBytes(frame.AsSpan(4), i);
                frame.AsSpan(8).Fill((byte)(t * 31 + i));
                await client.SendAsync(frame);
            }
        })));
        await handler.WaitForFrames(threads * perThread, s_wait);
        var next = new int[threads];
        foreach (byte[] frame in handler.Frames)
        {
            int t = BitConverter.ToInt32(frame), i = BitConverter.ToInt32(frame, 4);
            Assert.That(i, Is.EqualTo(next[t]++), "frames of one sender arrive in order");
            Assert.That(frame.AsSpan(8).IndexOfAnyExcept((byte)(t * 31 + i)), Is.EqualTo(-1), "a frame is never mixed with another");
        }
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Test]
    public async Task RequestsAndRepliesFlowBothWays()
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        server.Start(new CollectingHandler { OnEach = (c, f) => c.SendAsync(f.Reverse().ToArray()).AsTask().Wait() });
        var replies = new CollectingHandler();
        client.Start(replies);
        for (int i = 0; i < 100; i++)
            await client.SendAsync(new byte[] { (byte)i, 1, 2 });
        await replies.WaitForFrames(100, s_wait);
        Assert.That(replies.Frames.Select(f => f[2]), Is.EqualTo(Enumerable.Range(0, 100).Select(i => (byte)i)));
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Test]
    public async Task ThePeerClosingIsReportedAndSendsThenFail()
    {
        (IConnection client, IConnection server, IListener listener) = await TransportFixture.Connect(kind);
        await using var _ = listener;
        var serverSide = new CollectingHandler();
        server.Start(serverSide);
        client.Start(new CollectingHandler());
        await client.DisposeAsync();
        Task closed = serverSide.Closed.Task;
        Assert.That(await Task.WhenAny(closed, Task.Delay(s_wait)), Is.SameAs(closed), "the survivor hears of the close");
        await Assert.ThrowsAsync<ConnectionClosedException>(async () => await client.SendAsync(new byte[] { 1 }));
        await server.DisposeAsync();
    }
}

public class AuthenticationTests
{
    [TestCase("inproc")]
    [TestCase("shm")]
    [TestCase("tcp4")]
    public async Task AWrongSecretIsRefusedAndTheListenerCarriesOn(string kind)
    {
        (ITransport transport, Endpoint endpoint) = TransportFixture.Create(kind);
        await using IListener listener = transport.Listen(endpoint);
        ITransport impostor = kind == "inproc"
            ? transport
            : TransportFixture.Create(kind, Security.ClusterSecret.FromText("another secret, just as long")).Transport;
        if (kind == "inproc")
        {
            // The same in-process registry, reached with the wrong key.
            var wrong = new InProc.InProcTransport(Security.ClusterSecret.FromText("another secret, just as long"));
                        return;
        }
        var e = await Assert.ThrowsAsync<AuthenticationException>(async () => await impostor.ConnectAsync(listener.LocalEndpoint));
        Assert.That(e!.Message, Does.Contain("secret"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        ValueTask<IConnection> accept = listener.AcceptAsync(cts.Token);
        await using IConnection good = await transport.ConnectAsync(listener.LocalEndpoint, cts.Token);
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
    public async Task TlsWithAWrongSecretIsRefused()
    {
        var good = new TcpTransport(TransportFixture.Secret, tls: TlsOptions.SelfSigned());
        var bad = new TcpTransport(Security.ClusterSecret.FromText("another secret, just as long"), tls: TlsOptions.SelfSigned());
        await using IListener listener = good.Listen(Endpoint.Parse("tcp://127.0.0.1:0"));
        var e = await Assert.ThrowsAsync<AuthenticationException>(async () => await bad.ConnectAsync(listener.LocalEndpoint));
        Assert.That(e!.Message, Does.Contain("secret"));
    }

    [Test]
    public async Task GarbageBeforeTheHandshakeIsRefusedBeforeAnyFrame()
    {
        var transport = new TcpTransport(TransportFixture.Secret);
        await using IListener listener = transport.Listen(Endpoint.Parse("tcp://127.0.0.1:0"));
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await raw.ConnectAsync(listener.LocalEndpoint.ToIPEndPoint());
        var hello = new byte[40];
        await raw.ReceiveAsync(hello);
        // An HTTP request where the proof should be: the acceptor must hang up, not parse it.
        byte[] garbage = new byte[72];
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.CopyTo(garbage);
        await raw.SendAsync(garbage);
        var buffer = new byte[64];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int read = await raw.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        Assert.That(read, Is.EqualTo(0), "the acceptor closes the connection");
    }
}
