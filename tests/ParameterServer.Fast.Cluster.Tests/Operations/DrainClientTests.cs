using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Cluster.Tests.Nodes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Cluster.Tests.Operations;

/// <summary>`psf drain` over the wire: an operator asks the scheduler to drain a server and is told when it is done, or why not.</summary>
public sealed class DrainClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task AnOperatorDrainsAServerAndTheRowsStayExact()
    {
        await using TestCluster cluster = await TestCluster.StartAsync("tcp", servers: 3, workers: 1, replicas: 2);
        var table = await cluster.DeclareEverywhereAsync(TableSpec.Dense("drain-dense", new KeyRange(0, 1000), 1, UpdaterKind.Sum));
        float[] ones = [.. Enumerable.Repeat(1f, 1000)];
        await Bounded.Wait(cluster.Workers[0].PushRangeAsync(table, new KeyRange(0, 1000), ones), "the push before the drain");
        int rank = cluster.Servers[1].Rank;

        await DrainClient.DrainAsync(cluster.Transport, cluster.Scheduler.Endpoint, rank, Timeout);

        ClusterStatus status = await StatusClient.QueryAsync(cluster.Transport, cluster.Scheduler.Endpoint, Timeout);
        Assert.That(status.Nodes.Single(n => n.Role == ParameterServer.Fast.Cluster.Protocol.NodeRole.Server && n.Rank == rank).State, Is.EqualTo(NodeState.Done));
        Assert.That(status.Tables.SelectMany(t => t.Ranges).Any(r => r.Chain.Contains((int)ParameterServer.Fast.Cluster.Nodes.NodeIds.Server(rank))), Is.False,
            "no chain names the drained server");
        await Bounded.Wait(cluster.Workers[0].PushRangeAsync(table, new KeyRange(0, 1000), ones), "a push after the drain");
        float[] pulled = new float[1000];
        await Bounded.Wait(cluster.Workers[0].PullRangeAsync(table, new KeyRange(0, 1000), pulled, ParameterServer.Fast.Cluster.Consistency.Consistency.Eventual), "the pull after the drain");
        Assert.That(pulled, Is.All.EqualTo(2f));
    }

    [Test]
    public async Task ADrainTheJobCannotTakeIsRefusedWithTheSchedulersReason()
    {
        await using TestCluster cluster = await TestCluster.StartAsync("tcp", servers: 2, workers: 1, replicas: 2);
        await cluster.DeclareEverywhereAsync(TableSpec.Dense("drain-refused", new KeyRange(0, 100), 1, UpdaterKind.Sum));

        Exception e = await Bounded.Failure(new ValueTask(DrainClient.DrainAsync(cluster.Transport, cluster.Scheduler.Endpoint, 0, Timeout)), "a drain leaving too few servers");
        Assert.That(e, Is.TypeOf<InvalidOperationException>());
        Assert.That(e.Message, Does.Contain("cannot drain server 0").And.Contain("would have 1"));
        e = await Bounded.Failure(new ValueTask(DrainClient.DrainAsync(cluster.Transport, cluster.Scheduler.Endpoint, 9, Timeout)), "a drain of an unknown server");
        Assert.That(e.Message, Does.Contain("server 9 is not a live member"));
    }

    [Test]
    public async Task ShardsDrainWhileTheirProcessesCanHoldTheReplicasAndNoLonger()
    {
        // Two server processes of two shards each, R = 2: draining one shard leaves two failure
        // domains; draining its sibling too would leave one, and every chain a single copy.
        await using TestCluster cluster = await TestCluster.StartAsync("tcp", servers: 2, workers: 1, replicas: 2, shards: 2);
        var table = await cluster.DeclareEverywhereAsync(TableSpec.Dense("drain-shards", new KeyRange(0, 1000), 1, UpdaterKind.Sum));
        float[] ones = [.. Enumerable.Repeat(1f, 1000)];
        await Bounded.Wait(cluster.Workers[0].PushRangeAsync(table, new KeyRange(0, 1000), ones), "the push before the drains");
        int first = cluster.Servers[0].Rank, sibling = cluster.Servers[1].Rank;

        await DrainClient.DrainAsync(cluster.Transport, cluster.Scheduler.Endpoint, first, Timeout);
        Exception e = await Bounded.Failure(new ValueTask(DrainClient.DrainAsync(cluster.Transport, cluster.Scheduler.Endpoint, sibling, Timeout)), "a drain leaving one failure domain");

        Assert.That(e.Message, Does.Contain($"cannot drain server {sibling}").And.Contain("failure domains").And.Contain("would have 1"));
        ClusterStatus status = await StatusClient.QueryAsync(cluster.Transport, cluster.Scheduler.Endpoint, Timeout);
        foreach (var range in status.Tables.SelectMany(t => t.Ranges))
            Assert.That(range.Chain, Has.Length.EqualTo(2), "every chain still holds two copies");
        float[] pulled = new float[1000];
        await Bounded.Wait(cluster.Workers[0].PullRangeAsync(table, new KeyRange(0, 1000), pulled, ParameterServer.Fast.Cluster.Consistency.Consistency.Eventual), "the pull after the drain");
        Assert.That(pulled, Is.All.EqualTo(1f));
    }
}
