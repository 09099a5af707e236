using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Memory;
using ParameterServer.Fast.Core.Tables;

namespace ParameterServer.Fast.Core.Tests.Tables;

public class SparseTableTests
{
    [TestCase(1, 1)]
    [TestCase(2, 3)]
    [TestCase(3, 16)]
    public void RandomPushesAndPullsAgreeWithADictionary(int seed, int width)
    {
        var rng = new Random(seed);
        using var table = Table.Create(TableSpec.Sparse("emb", width) with { MaxRows = 1 << 20 });
        var model = new Dictionary<ulong, float[]>();
        // Keys from a small range collide often (updates) and from the whole space rarely (inserts).
        ulong NextKey() => rng.Next(3) == 0 ? (ulong)rng.Next(2000) : (ulong)rng.NextInt64() * 2;
        for (int round = 0; round < 300; round++)
        {
            ulong[] keys = [.. Enumerable.Range(0, rng.Next(0, 400)).Select(_ => NextKey())];
            keys = keys[..KeySet.SortUnique(keys)];
            float[] values = [.. Enumerable.Range(0, keys.Length * width).Select(_ => (float)rng.Next(-8, 9))];
            table.Push(keys, values);
            for (int i = 0; i < keys.Length; i++)
            {
                float[] row = model.TryGetValue(keys[i], out float[]? r) ? r : model[keys[i]] = new float[width];
                for (int c = 0; c < width; c++)
                    row[c] += values[(i * width) + c];
            }
            ulong[] probe = [.. model.Keys.OrderBy(_ => rng.Next()).Take(200).Append(NextKey()).Append(ulong.MaxValue - 1)];
            probe = probe[..KeySet.SortUnique(probe)];
            var pulled = new float[probe.Length * width];
            table.Pull(probe, pulled);
            for (int i = 0; i < probe.Length; i++)
            {
                float[] expected = model.TryGetValue(probe[i], out float[]? r) ? r : new float[width];
                Assert.That(pulled.AsSpan(i * width, width).ToArray(), Is.EqualTo(expected), $"key {probe[i]} in round {round}");
            }
        }
        Assert.That(table.RowCount, Is.EqualTo(model.Count));
    }

    [Test]
    public void GrowthMigratesIncrementallyWithoutLosingKeys()
    {
        using var table = (SparseTable)Table.Create(TableSpec.Sparse("big") with { MaxRows = 1 << 20 });
        var rng = new Random(4);
        var all = new List<ulong>();
        bool sawMigration = false;
        for (int batch = 0; batch < 200; batch++)
        {
            ulong[] keys = [.. Enumerable.Range(0, 1000).Select(_ => (ulong)rng.NextInt64())];
            keys = keys[..KeySet.SortUnique(keys)];
            table.Push(keys, Enumerable.Repeat(1f, keys.Length).ToArray());
            all.AddRange(keys);
            sawMigration |= table.Index.IsMigrating;
            // Every key pushed so far is still found, mid-migration or not.
            ulong[] sample = [.. all.OrderBy(_ => rng.Next()).Take(500)];
            sample = sample[..KeySet.SortUnique(sample)];
            var slots = new int[sample.Length];
            table.ResolveSlots(sample, slots, create: false);
            Assert.That(slots, Is.All.GreaterThanOrEqualTo(0), $"batch {batch}");
        }
        Assert.That(sawMigration, Is.True, "the test never caught the index mid-growth");
        var seen = new HashSet<int>();
        table.ForEachKey((key, slot) => Assert.That(seen.Add(slot), Is.True));
        Assert.That(seen, Has.Count.EqualTo(table.RowCount));
    }

    [Test]
    public void UnknownKeysPullTheirInitialValueWithoutBeingAdded()
    {
        var spec = TableSpec.Sparse("emb", width: 2) with { Initializer = new TableInitializer(InitializerKind.Uniform, 0.5f, Seed: 3) };
        using var table = Table.Create(spec);
        var pulled = new float[4];
        table.Pull([7, 1UL << 60], pulled);
        Assert.That(table.RowCount, Is.EqualTo(0));
        Assert.That(pulled, Is.All.InRange(-0.5f, 0.5f));
        Assert.That(pulled[0], Is.EqualTo(spec.Initializer.Value(7, 0)));
        table.Push([7], [0f, 0f]);
        var again = new float[2];
        table.Pull([7], again);
        Assert.That(again, Is.EqualTo(pulled[..2]));
    }

    [Test]
    public void MemoryPerKeyForOneFloatStaysUnder24Bytes()
    {
        const int count = 3_000_000;
        using var table = (SparseTable)Table.Create(TableSpec.Sparse("mem") with { MaxRows = count });
        var rng = new Random(8);
        var keys = new ulong[100_000];
        var values = new float[keys.Length];
        int pushed = 0;
        while (pushed < count)
        {
            for (int i = 0; i < keys.Length; i++)
                keys[i] = (ulong)rng.NextInt64();
            int n = KeySet.SortUnique(keys);
            n = Math.Min(n, count - pushed);
            table.Push(keys.AsSpan(0, n), values.AsSpan(0, n));
            pushed += n;
        }
        double perKey = (double)table.BytesHeld / table.RowCount;
        TestContext.Out.WriteLine($"{perKey:0.00} bytes per key at {table.RowCount} keys (migrating: {table.Index.IsMigrating})");
        if (!table.Index.IsMigrating)
            Assert.That(perKey, Is.LessThanOrEqualTo(24.0));
        Assert.That(table.BytesHeld, Is.LessThanOrEqualTo(MemoryAccounting.BytesHeld));
    }

    [Test]
    public void KeysOutsideTheHeldRangeAreRejected()
    {
        using var table = Table.Create(TableSpec.Sparse("s"), owned: new KeyRange(1000, 2000));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => table.Push([999, 1500], new float[2]));
        Assert.That(e!.Message, Does.Contain("999"));
    }

    [Test]
    public void AFullTableSaysSo()
    {
        using var table = Table.Create(TableSpec.Sparse("small") with { MaxRows = 3 });
        table.Push([1, 2, 3], new float[3]);
        var e = Assert.Throws<InvalidOperationException>(() => table.Push([4], new float[1]));
        Assert.That(e!.Message, Does.Contain("full"));
    }
}
