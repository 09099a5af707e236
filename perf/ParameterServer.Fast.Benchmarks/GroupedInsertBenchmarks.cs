using BenchmarkDotNet.Attributes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;

namespace ParameterServer.Fast.Benchmarks;

/// <summary>
/// Inserting new keys into a sparse table: random keys (the Baseline) against the keys of one
/// feature block of block proximal gradient, which share the top bits of <see cref="KeyHash.Mix"/>.
/// The slot index hashes with <see cref="KeyHash.IndexHash"/>, so both should cost the same; when
/// the index used Mix itself, one block's 16,500 keys crowded into an eighth of the buckets and
/// took 200-300 ms to insert instead of a few.
/// </summary>
public class GroupedInsertBenchmarks
{
    private const int Count = 16_500;
    private ulong[] _random = [];
    private ulong[] _oneBlock = [];
    private float[] _values = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(5);
        _random = [.. Enumerable.Range(0, Count).Select(_ => (ulong)rng.NextInt64())];
        _random = _random[..KeySet.SortUnique(_random)];
        var block = new List<ulong>(Count);
        for (ulong rank = 0; block.Count < Count; rank++)
        {
            ulong key = KeyHash.Mix((rank << 8) ^ 0xC0FFEE);
            if (KeyHash.Mix(key) >> 61 == 0)
                block.Add(key);
        }
        _oneBlock = [.. block.Order()];
        _values = new float[Count];
    }

    [Benchmark(Baseline = true)]
    public long InsertRandomKeys() => Insert(_random);

    [Benchmark]
    public long InsertOneFeatureBlock() => Insert(_oneBlock);

    private long Insert(ulong[] keys)
    {
        using Table table = Table.Create(TableSpec.Sparse("insert") with { MaxRows = 1 << 20 });
        table.Push(keys, _values.AsSpan(0, keys.Length));
        return table.RowCount;
    }
}
