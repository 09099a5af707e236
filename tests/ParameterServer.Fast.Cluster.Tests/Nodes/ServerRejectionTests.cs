using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// The server's own checks, for frames a worker client would never send: each bad request gets an
/// Error frame with its request id, naming the table and what was wrong, and touches no table; the
/// same connection and the other workers go on working.
/// </summary>
[NonParallelizable]
public sealed class ServerRejectionTests
{
    private TestCluster _cluster = null!;
    private RawPeer _peer = null!;
    private TableHandle _sparse = null!;
    private TableHandle _dense = null!;
    private TableHandle _bounded = null!;

    [OneTimeSetUp]
    public async Task StartJob()
    {
        _cluster = await TestCluster.StartAsync("inproc", servers: 1, workers: 2);
        _sparse = await _cluster.DeclareEverywhereAsync(TableSpec.Sparse("raw-sparse", width: 2));
        _dense = await _cluster.DeclareEverywhereAsync(TableSpec.Dense("raw-dense", new KeyRange(0, 100)));
        _bounded = await _cluster.DeclareEverywhereAsync(TableSpec.Sparse("raw-bounded") with { Range = new KeyRange(0, 1000) });
        _peer = await RawPeer.ConnectAsync(_cluster, server: 0);
    }

    [OneTimeTearDown]
    public async Task StopJob()
    {
        await _peer.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Test]
    public Task AnUnknownTableIdIsRefused() =>
        Refused(MessageType.Push, 999, [1], null, [1f], "unknown table id 999");

    [Test]
    public Task AWrongNumberOfValuesForTheWidthIsRefused() =>
        Refused(MessageType.Push, _sparse.Id, [1, 2], null, new float[6], "'raw-sparse'", "needs 4 values, the request has 6");

    [Test]
    public Task ARangePushReachingPastADenseTableIsRefusedAndAppliesNothing() =>
        Refused(MessageType.Push, _dense.Id, [], (90, 110), Enumerable.Repeat(100f, 20).ToArray(), "'raw-dense'", "[90, 110)");

    [Test]
    public Task ARangePullPastADenseTableIsRefused() =>
        Refused(MessageType.Pull, _dense.Id, [], (95, 105), [], "'raw-dense'", "[95, 105)");

    [Test]
    public Task ARangePushToASparseTableIsRefused() =>
        Refused(MessageType.Push, _sparse.Id, [], (0, 4), new float[8], "'raw-sparse'", "is sparse");

    [Test]
    public Task AKeyOutsideASparseTablesRangeIsRefused() =>
        Refused(MessageType.Push, _bounded.Id, [10, 5000], null, [1f, 1f], "'raw-bounded'", "key 5000");

    [Test]
    public async Task AFrameThatCannotBeDecodedClosesOnlyThatConnection()
    {
        await using RawPeer peer = await RawPeer.ConnectAsync(_cluster, server: 0);

        // 5 values cannot be rows of 3 keys: the codec refuses the frame before any table sees it.
        (MessageType answer, _, string message) = await peer.Request(MessageType.Push, _sparse.Id, new ulong[] { 1, 2, 3 }, null, new float[5]);

        Assert.That(answer, Is.EqualTo(MessageType.Error));
        Assert.That(message, Does.Contain("bad frame").And.Contain("value count"));
        await Bounded.Wait(peer.Closed, "the server closing the connection that sent a bad frame", Bounded.Request);
        (MessageType again, _, string why) = await _peer.Request(MessageType.Push, _dense.Id, Array.Empty<ulong>(), (0, 100), new float[100]);
        Assert.That(again, Is.EqualTo(MessageType.PushAck), $"another connection still works: {why}");
        foreach (WorkerClient w in _cluster.Workers)
            await BadRequestTests.HealthyRoundTrip(w, _sparse, _dense);
    }

    private async Task Refused(MessageType type, uint table, ulong[] keys, (ulong, ulong)? range, float[] values, params string[] said)
    {
        float[] denseBefore = await PullDense();

        (MessageType answer, ulong requestId, string message) = await _peer.Request(type, table, keys, range, values);

        Assert.That(answer, Is.EqualTo(MessageType.Error), $"answer to a bad {type}: {message}");
        Assert.That(requestId, Is.EqualTo(_peer.LastRequestId), "the error answers the bad request");
        Assert.That(message, Does.StartWith("server 0: "));
        foreach (string s in said)
            Assert.That(message, Does.Contain(s));
        Assert.That(await PullDense(), Is.EqualTo(denseBefore), "the bad request changed no row");

        (MessageType again, _, string why) = await _peer.Request(MessageType.Push, _dense.Id, Array.Empty<ulong>(), (0, 100), new float[100]);
        Assert.That(again, Is.EqualTo(MessageType.PushAck), $"the same connection still works: {why}");
        foreach (WorkerClient w in _cluster.Workers)
            await BadRequestTests.HealthyRoundTrip(w, _sparse, _dense);
    }

    private async Task<float[]> PullDense()
    {
        float[] values = new float[100];
        await Bounded.Wait(_cluster.Workers[1].PullRangeAsync(_dense, new KeyRange(0, 100), values, ParameterServer.Fast.Cluster.Consistency.Consistency.Eventual), "dense pull");
        return values;
    }
}
