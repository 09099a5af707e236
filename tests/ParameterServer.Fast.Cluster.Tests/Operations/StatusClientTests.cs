using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Cluster.Protocol;
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
    public async Task ARunningJobsSchedulerAnswersWithNodesTablesAndChains()
    {
        await using ParameterServer.Fast.Cluster.Tests.Nodes.TestCluster cluster = await ParameterServer.Fast.Cluster.Tests.Nodes.TestCluster.StartAsync("inproc", servers: 3, workers: 2, replicas: 2);
        await cluster.DeclareEverywhereAsync(ParameterServer.Fast.Core.Tables.TableSpec.Sparse("status-table", 1, ParameterServer.Fast.Core.Updaters.UpdaterKind.Sum));
        await cluster.Workers[0].AdvanceClockAsync();
        ClusterStatus status = await StatusClient.QueryAsync(cluster.Transport, cluster.Scheduler.Endpoint, Timeout);
        Assert.Multiple(() =>
        {
            Assert.That(status.Servers, Is.EqualTo(3));
            Assert.That(status.Workers, Is.EqualTo(2));
            Assert.That(status.Replicas, Is.EqualTo(2));
            Assert.That(status.Nodes.Count(n => n.Role == NodeRole.Server && n.State == NodeState.Live), Is.EqualTo(3));
            Assert.That(status.Nodes.Count(n => n.Role == NodeRole.Worker && n.State == NodeState.Live), Is.EqualTo(2));
            Assert.That(status.Tables.Single().Name, Is.EqualTo("status-table"));
            Assert.That(status.Tables.Single().Ranges, Has.All.Matches<RangeStatus>(r => r!.Chain.Count == 2), "every range on a chain of two");
        });
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
