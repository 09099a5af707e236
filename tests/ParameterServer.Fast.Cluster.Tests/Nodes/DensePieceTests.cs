using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// A dense request larger than <see cref="WorkerClient.DensePieceFloats"/> travels as several
/// frames per server: every value still lands where it belongs, on both sides of a server
/// boundary, and the request completes only when every piece is answered.
/// </summary>
public sealed class DensePieceTests
{
    [TestCase(1, 700)]
    [TestCase(2, 700)]
    [TestCase(2, 1)]
    [TestCase(3, 4096)]
    public async Task RangesSentInPiecesArriveWhole(int width, int pieceFloats)
    {
        await using TestCluster cluster = await TestCluster.StartAsync("tcp", servers: 2, workers: 1);
        WorkerClient worker = cluster.Workers[0];
        const int Keys = 5_000;
        TableHandle table = await worker.DeclareTableAsync(TableSpec.Dense($"pieces-{width}-{pieceFloats}", new KeyRange(0, Keys), width, UpdaterKind.Sum));
        worker.DensePieceFloats = pieceFloats;
        // Not aligned with the servers' halves or the pieces: both ends are odd.
        var range = new KeyRange(3, Keys - 1);
        int count = (int)range.Size * width;
        float[] pushed = [.. Enumerable.Range(0, count).Select(i => (float)(i % 1000))];
        float[] pulled = new float[count];

        await Bounded.Wait(worker.PushRangeAsync(table, range, pushed), "push in pieces");
        await Bounded.Wait(worker.PushRangeAsync(table, range, pushed), "second push in pieces");
        await Bounded.Wait(worker.PullRangeAsync(table, range, pulled, Delay.Eventual), "pull in pieces");

        Assert.That(pulled, Is.EqualTo(pushed.Select(v => 2 * v).ToArray()));
    }

    [Test]
    public void APieceHoldsAtLeastOneValue()
    {
        Assert.That(() => WorkerClientPieces(0), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    private static async Task WorkerClientPieces(int floats)
    {
        await using TestCluster cluster = await TestCluster.StartAsync("inproc", servers: 1, workers: 1);
        cluster.Workers[0].DensePieceFloats = floats;
    }
}
