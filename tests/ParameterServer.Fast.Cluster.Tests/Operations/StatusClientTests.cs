using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.InProc;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Cluster.Tests.Operations;

/// <summary>
/// `psf status` end to end over a real transport: a scheduler stand-in that answers status
/// requests, the scheduler as it is today, and no scheduler at all; every wait bounded.
/// </summary>
public sealed class StatusClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [TestCase("inproc")]
    [TestCase("tcp")]
    public async Task AStatusReplyIsDecoded(string kind)
    {
        ClusterSecret secret = ClusterSecret.Generate();
        ITransport transport = kind == "inproc" ? new InProcTransport(secret) : new TcpTransport(secret);
        Endpoint at = Endpoint.Parse(kind == "inproc" ? $"inproc://status-{Guid.NewGuid():N}" : "tcp://127.0.0.1:0");
        ClusterStatus sent = StatusMessagesTests.Sample(2, 3, 1);
        await using IListener listener = transport.Listen(at);
        Task serve = Task.Run(async () =>
        {
            IConnection c = await listener.AcceptAsync().AsTask().WaitAsync(Timeout);
            c.Start(new Answerer(sent));
            await c.Completion.WaitAsync(Timeout).ContinueWith(_ => { }, TaskScheduler.Default);
            await c.DisposeAsync();
        });
        ClusterStatus got = await StatusClient.QueryAsync(transport, listener.LocalEndpoint, Timeout);
        Assert.That(got.Nodes, Is.EqualTo(sent.Nodes));
        Assert.That(got.JobClock, Is.EqualTo(sent.JobClock));
        Assert.That(got.Tables[0].Ranges.Count, Is.EqualTo(sent.Tables[0].Ranges.Count));
        await serve.WaitAsync(Timeout);
    }

    [Test]
    public async Task TheSchedulerEitherAnswersOrRefusesByName()
    {
        ClusterSecret secret = ClusterSecret.Generate();
        var transport = new InProcTransport(secret);
        await using var scheduler = new SchedulerNode(transport, Endpoint.Parse($"inproc://sched-{Guid.NewGuid():N}"), new JobOptions());
        scheduler.Start();
        try
        {
            ClusterStatus status = await StatusClient.QueryAsync(transport, scheduler.Endpoint, Timeout);
            Assert.That(status.Servers, Is.EqualTo(1));
        }
        catch (InvalidOperationException e)
        {
            // Until the scheduler serves status requests, it refuses them with a message naming the type.
            Assert.That(e.Message, Does.Contain("refused the status request").And.Contain("StatusRequest"));
        }
    }

    [Test]
    public async Task NoSchedulerListeningIsAClearError()
    {
        ClusterSecret secret = ClusterSecret.Generate();
        var transport = new TcpTransport(secret);
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        Exception? e = await Assert.CatchAsync(() => StatusClient.QueryAsync(transport, Endpoint.Parse($"tcp://127.0.0.1:{port}"), TimeSpan.FromSeconds(3)));
        Assert.That(e, Is.InstanceOf<IOException>().Or.InstanceOf<TimeoutException>());
        TestContext.Out.WriteLine(e!.Message);
    }

    // Answers every StatusRequest with the given status, as the scheduler will.
    private sealed class Answerer(ClusterStatus status) : IFrameHandler
    {
        public void OnFrame(IConnection connection, ReadOnlySpan<byte> frame)
        {
            Frame f = new FrameDecoder().Read(frame);
            if (f.Type == MessageType.StatusRequest)
                _ = FrameOut.SendControl(connection, new FrameHeader(MessageType.StatusReply, 0, NodeIds.Scheduler, f.RequestId), StatusMessages.Encode(status)).AsTask();
        }

        public void OnClosed(IConnection connection, Exception? error)
        {
        }
    }
}
