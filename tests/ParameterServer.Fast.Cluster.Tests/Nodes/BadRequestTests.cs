using NUnit.Framework.Constraints;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// A bad request through the worker client fails that one request with an error naming the table
/// and what was wrong; the servers and every worker, the one that erred included, carry on.
/// </summary>
[NonParallelizable]
public sealed class BadRequestTests
{
    private TestCluster _cluster = null!;
    private TableHandle _sparse = null!;
    private TableHandle _dense = null!;

    [OneTimeSetUp]
    public async Task StartJob()
    {
        _cluster = await TestCluster.StartAsync("inproc", servers: 2, workers: 2);
        _sparse = await _cluster.DeclareEverywhereAsync(TableSpec.Sparse("bad-sparse", width: 2));
        _dense = await _cluster.DeclareEverywhereAsync(TableSpec.Dense("bad-dense", new KeyRange(0, 100)));
    }

    [OneTimeTearDown]
    public async Task StopJob() => await _cluster.DisposeAsync();

    private WorkerClient Bad => _cluster.Workers[0];

    [Test]
    public Task AnUnknownTableIdIsRefusedNamingTheTable() =>
        Refused(Bad.PushAsync(new TableHandle(999, TableSpec.Sparse("ghost")), new ulong[] { 1 }, new float[] { 1 }),
            Is.TypeOf<ArgumentException>(), "'ghost'", "not in range map");

    [Test]
    public Task APushWithTheWrongNumberOfValuesForTheWidthIsRefused() =>
        Refused(Bad.PushAsync(_sparse, new ulong[] { 1, 2, 3 }, new float[5]), Is.TypeOf<ArgumentException>(), "'bad-sparse'", "need 6 values, got 5");

    [Test]
    public Task APullIntoTheWrongNumberOfValuesIsRefused() =>
        Refused(Bad.PullAsync(_sparse, new ulong[] { 1, 2, 3 }, new float[4], Delay.Eventual), Is.TypeOf<ArgumentException>(), "'bad-sparse'", "need 6 values, got 4");

    [Test]
    public Task UnsortedKeysAreRefusedNamingTheTable() =>
        Refused(Bad.PushAsync(_sparse, new ulong[] { 5, 3, 9 }, new float[6]), Is.TypeOf<ArgumentException>(), "'bad-sparse'", "out of order");

    [Test]
    public Task DuplicateKeysAreRefusedNamingTheTable() =>
        Refused(Bad.PullAsync(_sparse, new ulong[] { 5, 5, 9 }, new float[6], Delay.Eventual), Is.TypeOf<ArgumentException>(), "'bad-sparse'", "duplicate");

    [Test]
    public Task ARangePushOutsideADenseTableIsRefused() =>
        Refused(Bad.PushRangeAsync(_dense, new KeyRange(90, 110), new float[20]), Is.TypeOf<ArgumentOutOfRangeException>(), "'bad-dense'", "outside [0, 100)");

    [Test]
    public Task ARangePullOutsideADenseTableIsRefused() =>
        Refused(Bad.PullRangeAsync(_dense, new KeyRange(100, 101), new float[1], Delay.Eventual), Is.TypeOf<ArgumentOutOfRangeException>(), "'bad-dense'", "outside [0, 100)");

    [Test]
    public Task ARangePushToASparseTableIsRefusedByTheServer() =>
        Refused(Bad.PushRangeAsync(_sparse, new KeyRange(0, 10), new float[20]), Is.TypeOf<ParameterServerException>(), "'bad-sparse'", "is sparse");

    private async Task Refused(ValueTask request, IResolveConstraint type, string table, string what)
    {
        Exception error = await Bounded.Failure(request, "the bad request");

        Assert.That(error, type);
        Assert.That(error.Message, Does.Contain(table).And.Contain(what));
        for (int w = 0; w < _cluster.Workers.Count; w++)
            await HealthyRoundTrip(_cluster.Workers[w], _sparse, _dense);
    }

    /// <summary>A push then a pull of both tables by <paramref name="worker"/> that must see its own push.</summary>
    internal static async Task HealthyRoundTrip(WorkerClient worker, TableHandle sparse, TableHandle dense)
    {
        ulong[] keys = [3, 1UL << 62, ulong.MaxValue - 2];
        float[] before = new float[keys.Length * sparse.Spec.Width], after = new float[before.Length];
        await Bounded.Wait(worker.PullAsync(sparse, keys, before, Delay.Eventual), $"worker {worker.Rank}'s sparse pull");
        await Bounded.Wait(worker.PushAsync(sparse, keys, Enumerable.Repeat(2f, before.Length).ToArray()), $"worker {worker.Rank}'s sparse push");
        await Bounded.Wait(worker.PullAsync(sparse, keys, after, Delay.Eventual), $"worker {worker.Rank}'s sparse pull");
        Assert.That(after, Is.EqualTo(before.Select(v => v + 2).ToArray()), $"worker {worker.Rank} sees its sparse push");

        var range = new KeyRange(dense.Spec.Range.Begin, dense.Spec.Range.End);
        float[] denseBefore = new float[range.Size * (ulong)dense.Spec.Width], denseAfter = new float[denseBefore.Length];
        await Bounded.Wait(worker.PullRangeAsync(dense, range, denseBefore, Delay.Eventual), $"worker {worker.Rank}'s dense pull");
        await Bounded.Wait(worker.PushRangeAsync(dense, range, Enumerable.Repeat(1f, denseBefore.Length).ToArray()), $"worker {worker.Rank}'s dense push");
        await Bounded.Wait(worker.PullRangeAsync(dense, range, denseAfter, Delay.Eventual), $"worker {worker.Rank}'s dense pull");
        Assert.That(denseAfter, Is.EqualTo(denseBefore.Select(v => v + 1).ToArray()), $"worker {worker.Rank} sees its dense push");
    }
}
