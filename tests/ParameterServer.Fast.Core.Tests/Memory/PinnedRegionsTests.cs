using System.Runtime.InteropServices;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Tests.Memory;

/// <summary>A table's weights slab announces itself to PinnedRegions through its life; its state arrays do not.</summary>
public class PinnedRegionsTests
{
    [Test]
    public void AWeightsSlabIsAnnouncedAsItGrowsAndWithdrawnWhileItIsStillMapped()
    {
        var log = new RecordingObserver();
        using (PinnedRegions.Subscribe(log))
        {
            // 1 M rows of 1 float reserved (4 MiB), a state array beside the weights.
            var store = new RowStore(1, 1, 1 << 20);
            log.Watched = store.WeightsAddress;
            Assert.That(log.Events, Is.Empty, "nothing committed yet: nothing to send from");
            store.EnsureRows(1000);
            store.WeightRows(0, 1)[0] = 7f;
            store.EnsureRows(600_000);
            store.Dispose();
            Assert.That(log.Events, Is.EqualTo(new[] { "pinned 2097152", "pinned 4194304", "unpinning 4194304 first=7" }),
                "committed in 2 MiB steps; the state array never announced; withdrawn before the memory was released");
        }
    }

    [Test]
    public void ASubscriberIsToldOfTheSlabsThatAlreadyExistAndNothingAfterItLeaves()
    {
        using var store = new RowStore(4, 0, 1000);
        store.EnsureRows(10);
        var log = new RecordingObserver { Watched = store.WeightsAddress };
        IDisposable subscription = PinnedRegions.Subscribe(log);
        Assert.That(log.Events, Is.EqualTo(new[] { "pinned 16000" }), "a heap slab of 1000 rows × 4 floats, committed whole");
        Assert.That(PinnedRegions.TryFind(store.WeightsAddress + 100, 64, out PinnedRegion found), Is.True);
        Assert.That(found.Address, Is.EqualTo(store.WeightsAddress));
        Assert.That(PinnedRegions.TryFind(store.WeightsAddress + 15_990, 64, out _), Is.False, "runs past the end");
        subscription.Dispose();
        store.Dispose();
        Assert.That(log.Events, Has.Count.EqualTo(1));
    }

    private sealed class RecordingObserver : IPinnedRegionObserver
    {
        public nint Watched { get; set; }

        public List<string> Events { get; } = [];

        public void OnPinned(PinnedRegion region)
        {
            if (region.Address == Watched)
                Events.Add($"pinned {region.Length}");
        }

        public void OnUnpinning(PinnedRegion region)
        {
            if (region.Address == Watched)
                Events.Add($"unpinning {region.Length} first={Marshal.PtrToStructure<float>(region.Address)}");
        }
    }
}
