using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Cluster.Replication;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Tests.Replication;

/// <summary>
/// A primary's batches: closed at N pushes, one per range, touched rows merged (a dense hull, a
/// sorted unique key list), the pushes' ids carried in order; and their frame extras round-trip.
/// </summary>
public sealed class ReplicationBatcherTests
{
    private static readonly KeyRange PartA = new(0, 1000), PartB = new(1000, 2000);

    [Test]
    public void ABatchClosesAtItsPushLimitAndTheNextOneStartsEmpty()
    {
        var batcher = new ReplicationBatcher(3);
        Assert.That(Add(batcher, PartA, 1, [1, 2]), Is.Null);
        Assert.That(Add(batcher, PartA, 2, [2, 3]), Is.Null);
        ReplicationBatcher.Batch? full = Add(batcher, PartA, 3, [7]);
        Assert.That(full, Is.Not.Null, "the third push closes the batch");
        Assert.Multiple(() =>
        {
            Assert.That(full!.Pushes.Select(p => p.RequestId), Is.EqualTo(new ulong[] { 1, 2, 3 }));
            Assert.That(full.Upstreams.Select(u => u.Id), Is.EqualTo(new ulong[] { 1, 2, 3 }));
            Assert.That(full.MergedKeys(), Is.EqualTo(new ulong[] { 1, 2, 3, 7 }), "keys sorted and unique");
            Assert.That(full.Hull, Is.Null);
            Assert.That(batcher.IsEmpty, Is.True);
        });
        Assert.That(Add(batcher, PartA, 4, [9]), Is.Null, "a new batch begins");
        Assert.That(batcher.TakeAll().Single().Pushes, Has.Count.EqualTo(1));
    }

    [Test]
    public void RangesGetABatchEachAndDenseRowsTheirHull()
    {
        var batcher = new ReplicationBatcher(16);
        batcher.Add(7, PartA, new KeyRange(10, 20), default, Upstream(1), 65536, 1);
        batcher.Add(7, PartB, null, [1500, 1600], Upstream(2), 65536, 2);
        batcher.Add(7, PartA, new KeyRange(50, 60), default, Upstream(3), 65537, 1);
        batcher.Add(8, PartA, null, [5], Upstream(4), 65536, 3);
        List<ReplicationBatcher.Batch> all = batcher.TakeAll();
        Assert.That(all, Has.Count.EqualTo(3), "one batch per table and range");
        ReplicationBatcher.Batch a = all.Single(b => b.Table == 7 && b.Part == PartA);
        Assert.Multiple(() =>
        {
            Assert.That(a.Hull, Is.EqualTo(new KeyRange(10, 60)));
            Assert.That(a.Pushes, Is.EqualTo(new[] { (65536u, 1UL), (65537u, 1UL) }));
            Assert.That(all.Single(b => b.Part == PartB).MergedKeys(), Is.EqualTo(new ulong[] { 1500, 1600 }));
            Assert.That(all[0].Started, Is.LessThanOrEqualTo(all[1].Started), "oldest first");
            Assert.That(batcher.IsEmpty, Is.True);
        });
    }

    [Test]
    public void ABatchHoldsAtLeastOnePush() =>
        Assert.That(() => new ReplicationBatcher(0), Throws.InstanceOf<ArgumentOutOfRangeException>());

    [Test]
    public void ExtrasRoundTripAndAnEmptyPartIsRefused()
    {
        (uint, ulong)[] pushes = [(65536, 1), (65540, ulong.MaxValue)];
        var decoded = new List<(uint Worker, ulong RequestId)>();
        KeyRange part = ReplicatedRows.DecodeExtras(ReplicatedRows.EncodeExtras(PartB, pushes), decoded);
        Assert.That(part, Is.EqualTo(PartB));
        Assert.That(decoded, Is.EqualTo(pushes));
        byte[] empty = ReplicatedRows.EncodeExtras(new KeyRange(5, 6), []);
        empty[8] = 5; // end := 5, the part [5, 5) is empty
        Assert.That(() => ReplicatedRows.DecodeExtras(empty, decoded), Throws.InstanceOf<ProtocolException>().With.Message.Contains("empty"));
    }

    private static long s_clock;

    private static ChainUpstream Upstream(ulong id) => new(null!, id, Interlocked.Increment(ref s_clock));

    private static ReplicationBatcher.Batch? Add(ReplicationBatcher batcher, KeyRange part, ulong request, ulong[] keys) =>
        batcher.Add(1, part, null, keys, Upstream(request), 65536, request);
}
