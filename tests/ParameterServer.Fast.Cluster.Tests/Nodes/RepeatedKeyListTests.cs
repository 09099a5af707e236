using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Nodes;

/// <summary>
/// Key lists that repeat travel as signatures and the servers remember the slots they resolved
/// to: the results must be exactly those of resolving every time — including a list first pulled
/// before its keys exist (they read the initial value and must not be remembered as absent), and
/// two workers repeating lists that overlap.
/// </summary>
public sealed class RepeatedKeyListTests
{
    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.Transports))]
    public async Task RepeatedListsSumExactlyAndSeeKeysCreatedAfterTheFirstPull(string transport)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 2, workers: 2);
        TableHandle table = await cluster.DeclareEverywhereAsync(TableSpec.Sparse("repeat-sum", 2, UpdaterKind.Sum));
        var random = new Random(11);
        ulong[] listA = RandomSortedKeys(random, 5000);
        ulong[] listB = [.. listA.Where((_, i) => i % 3 == 0).Concat(RandomSortedKeys(random, 2000)).Distinct().Order()];

        // Pulled twice before any push: unknown keys read 0, and the list is now cached by signature.
        float[] before = new float[listA.Length * 2];
        for (int i = 0; i < 2; i++)
            await Bounded.Wait(cluster.Workers[0].PullAsync(table, listA, before, Delay.Eventual), "pull before pushes");
        Assert.That(before, Is.All.EqualTo(0f));

        var model = new Dictionary<ulong, float>();
        const int Rounds = 6;
        for (int round = 0; round < Rounds; round++)
        {
            float[] a = Enumerable.Range(0, listA.Length * 2).Select(i => (float)((i + round) % 5)).ToArray();
            float[] b = Enumerable.Range(0, listB.Length * 2).Select(i => (float)((i * 7 + round) % 3)).ToArray();
            await Task.WhenAll(
                cluster.Workers[0].PushAsync(table, listA, a).AsTask(),
                cluster.Workers[1].PushAsync(table, listB, b).AsTask()).WaitAsync(Bounded.Request);
            Accumulate(model, listA, a);
            Accumulate(model, listB, b);
        }

        foreach ((WorkerClient worker, ulong[] list) in new[] { (cluster.Workers[0], listA), (cluster.Workers[1], listB), (cluster.Workers[1], listA) })
        {
            float[] pulled = new float[list.Length * 2];
            await Bounded.Wait(worker.PullAsync(table, list, pulled, Delay.Eventual), "pull after pushes");
            for (int i = 0; i < list.Length; i++)
            {
                Assert.That(pulled[2 * i], Is.EqualTo(model[Key(list[i], 0)]), $"key {list[i]}, column 0");
                Assert.That(pulled[2 * i + 1], Is.EqualTo(model[Key(list[i], 1)]), $"key {list[i]}, column 1");
            }
        }
    }

    // The server's cache holds about three lists of 2000 keys, the worker's all of them: list 0,
    // pushed again after four others, reaches the server as a signature it no longer knows; the
    // worker is asked for the list and resends it in full (off its receive thread), and the push
    // counts exactly once.
    [TestCaseSource(typeof(TestCluster), nameof(TestCluster.OrderedTransports))]
    public async Task AListTheServerForgotIsResentInFullAndCountsOnce(string transport)
    {
        await using TestCluster cluster = await TestCluster.StartAsync(transport, servers: 1, workers: 1, serverKeyCacheBytes: 50_000);
        WorkerClient worker = cluster.Workers[0];
        TableHandle table = await worker.DeclareTableAsync(TableSpec.Sparse("forgotten-list", 1, UpdaterKind.Sum));
        var random = new Random(5);
        ulong[][] lists = [.. Enumerable.Range(0, 5).Select(_ => RandomSortedKeys(random, 2000))];
        float[] ones = [.. Enumerable.Repeat(1f, 2000)];

        foreach (ulong[] list in lists)
            await Bounded.Wait(worker.PushAsync(table, list, ones.AsMemory(0, list.Length)), "first pushes");
        long missesBefore = worker.KeyCacheMisses;
        await Bounded.Wait(worker.PushAsync(table, lists[0], ones.AsMemory(0, lists[0].Length)), "the push of a forgotten list");

        Assert.That(worker.KeyCacheMisses, Is.GreaterThan(missesBefore), "the server asked for the list");
        float[] pulled = new float[lists[0].Length];
        await Bounded.Wait(worker.PullAsync(table, lists[0], pulled, Delay.Eventual), "pull");
        Assert.That(pulled, Is.All.EqualTo(2f));
    }

    // One model entry per (key, column): the key shifted left leaves room for the column bit.
    private static ulong Key(ulong key, int column) => (key << 1) | (uint)column;

    private static void Accumulate(Dictionary<ulong, float> model, ulong[] keys, float[] values)
    {
        for (int i = 0; i < keys.Length; i++)
        {
            for (int c = 0; c < 2; c++)
                model[Key(keys[i], c)] = model.GetValueOrDefault(Key(keys[i], c)) + values[2 * i + c];
        }
    }

    private static ulong[] RandomSortedKeys(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => (ulong)random.NextInt64(0, long.MaxValue) >> 1).Distinct().Order()];
}
