using ParameterServer.Fast.Core.Kernels;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Core.Tests;

/// <summary>The hot paths allocate nothing per call once warm: counted, not timed.</summary>
public class AllocationTests
{
    [Test]
    public void KernelsTablePushesAndPullsAllocateNothing()
    {
        var a = new float[4096];
        var b = new float[4096];
        using var dense = (DenseTable)Table.Create(TableSpec.Dense("d", new KeyRange(0, 4096), 1, UpdaterKind.Adam));
        using var sparse = Table.Create(TableSpec.Sparse("s", 1, UpdaterKind.Ftrl));
        ulong[] keys = [.. Enumerable.Range(0, 1000).Select(i => (ulong)i * 7919)];
        var values = new float[keys.Length];
        var slots = new int[keys.Length];
        void Work()
        {
            VectorKernels.SumInto(a, b);
            VectorKernels.Axpy(a, 0.1f, b);
            dense.PushRange(dense.OwnedRange, b);
            dense.PullRange(dense.OwnedRange, a);
            sparse.Push(keys, values);
            sparse.Pull(keys, values);
            sparse.ResolveSlots(keys, slots, create: false);
            sparse.PushSlots(slots, values);
        }
        Work();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
            Work();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.EqualTo(0));
    }
}
