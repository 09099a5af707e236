using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Memory;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// A whole job over the RDMA transport on the shim's in-memory fake verbs: dense range pulls are
/// answered from the table's slab by RDMA write (no copy on the server), with the right values.
/// </summary>
[NonParallelizable] // reads the fake's process-wide record of posted writes
public class RdmaPullTests
{
    // Rows of 64 KiB: every part of the range the ring gives the server holds at least one, so
    // every answer is above the 64 KiB threshold of answers sent from the slab.
    private const int Width = 16 * 1024;
    private static readonly KeyRange Range = new(0, 24);

    [Test]
    public async Task ADenseRangePullIsAnsweredFromTheTablesSlabWithTheRightValues()
    {
        if (RdmaTransportMissing() is { } reason)
            Assert.Ignore(reason);
        await using TestCluster cluster = await TestCluster.StartAsync("rdma-fake", servers: 1, workers: 1);
        WorkerClient worker = cluster.Workers[0];
        TableHandle dense = await cluster.DeclareEverywhereAsync(TableSpec.Dense("rdma-dense", Range, Width, UpdaterKind.Sum));
        float[] pushed = Enumerable.Range(0, (int)Range.Size * Width).Select(i => i * 0.25f).ToArray();
        await Bounded.Wait(worker.PushRangeAsync(dense, Range, pushed), "dense push");
        float[] pulled = new float[pushed.Length];

        await Bounded.Wait(worker.PullRangeAsync(dense, Range, pulled, Delay.Eventual), "dense pull");

        Assert.That(pulled, Is.EqualTo(pushed));
        var fromSlabs = Enumerable.Range(0, 16).Select(back => RdmaChannel.FakePostedWrite(back))
            .Where(w => w.Length > 0 && PinnedRegions.TryFind(w.Address, w.Length, out _)).ToList();
        Assert.That(fromSlabs, Is.Not.Empty, "the device read rows inside a table's slab: the answer was not copied on the server");
        Assert.That(fromSlabs.Sum(w => w.Length) % (Width * sizeof(float)), Is.Zero, "whole rows were written from the slab");
    }

    private static string? RdmaTransportMissing()
    {
        try
        {
            RdmaChannel.FakeCounts();
            return null;
        }
        catch (NativeException e)
        {
            return $"the native shim was built without RDMA verbs: {e.Message}";
        }
    }
}
