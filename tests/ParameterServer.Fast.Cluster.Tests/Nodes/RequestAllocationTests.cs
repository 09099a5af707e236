using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// The hot path allocates nothing per request once warm (DESIGN, "Memory and threads"): a whole
/// in-process job over TCP — worker client, both receive threads, the server — is measured with
/// the process-wide allocation counter around thousands of pushes and pulls of key lists and of
/// dense ranges (zero-copy from the caller's array). The loop runs on the thread pool, as in an
/// application, not under the test runner's synchronization context (whose posts allocate).
/// What remains is background: heartbeats every 200 ms and the test host.
/// </summary>
public sealed class RequestAllocationTests
{
    [Test]
    public async Task PushesAndPullsAllocateNothingPerRequestOnceWarm()
    {
        await using TestCluster cluster = await TestCluster.StartAsync("tcp", servers: 1, workers: 1);
        WorkerClient worker = cluster.Workers[0];
        TableHandle sparse = await worker.DeclareTableAsync(TableSpec.Sparse("alloc-sparse", 1, UpdaterKind.Sum));
        TableHandle dense = await worker.DeclareTableAsync(TableSpec.Dense("alloc-dense", new KeyRange(0, 1 << 16), 1, UpdaterKind.Sum));
        ulong[] keys = [3, 1_000, 77_777, 1UL << 40];
        float[] push = [1, 2, 3, 4];
        float[] pull = new float[4];
        float[] denseValues = new float[1 << 16];
        var range = new KeyRange(0, 1 << 16);

        Task Rounds(int count) => Task.Run(async () =>
        {
            for (int i = 0; i < count; i++)
            {
                await worker.PushAsync(sparse, keys, push);
                await worker.PullAsync(sparse, keys, pull, Delay.Eventual);
                await worker.PushRangeAsync(dense, range, denseValues);
                await worker.PullRangeAsync(dense, range, denseValues, Delay.Eventual);
            }
        });

        await Rounds(500).WaitAsync(TimeSpan.FromSeconds(60));
        const int Measured = 3000;
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await Rounds(Measured).WaitAsync(TimeSpan.FromSeconds(120));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        double perRequest = allocated / (Measured * 4.0);
        TestContext.Out.WriteLine($"{allocated} bytes over {Measured * 4} requests: {perRequest:F1} B per request");
        Assert.That(perRequest, Is.LessThan(16), "bytes allocated per request after warm-up");
    }
}
