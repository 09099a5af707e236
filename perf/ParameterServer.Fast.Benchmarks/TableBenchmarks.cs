using BenchmarkDotNet.Attributes;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Benchmarks;

/// <summary>
/// Sparse-table pushes and pulls of random existing keys: a Dictionary as the naive Baseline, the
/// table with its pipelined lookup, and the slot path a key-cache hit takes. 0 B allocated per call.
/// </summary>
[MemoryDiagnoser]
public class TableBenchmarks
{
    private ulong[] _keys = [];
    private float[] _values = [];
    private int[] _slots = [];
    private Table _table = null!;
    private Table _ftrl = null!;
    private Dictionary<ulong, float> _dictionary = [];

    [Params(10_000, 1_000_000)]
    public int Keys { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(3);
        _keys = [.. Enumerable.Range(0, Keys).Select(_ => (ulong)rng.NextInt64())];
        _keys = _keys[..KeySet.SortUnique(_keys)];
        _values = new float[_keys.Length];
        _slots = new int[_keys.Length];
        _table = Table.Create(TableSpec.Sparse("sum") with { MaxRows = Keys * 2L });
        _ftrl = Table.Create(TableSpec.Sparse("ftrl", 1, UpdaterKind.Ftrl) with { MaxRows = Keys * 2L });
        _table.Push(_keys, _values);
        _ftrl.Push(_keys, _values);
        _table.ResolveSlots(_keys, _slots, create: false);
        _dictionary = _keys.ToDictionary(k => k, _ => 0f);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _table.Dispose();
        _ftrl.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void PushDictionary()
    {
        for (int i = 0; i < _keys.Length; i++)
            _dictionary[_keys[i]] += _values[i];
    }

    [Benchmark]
    public void PushSum() => _table.Push(_keys, _values);

    [Benchmark]
    public void PushFtrl() => _ftrl.Push(_keys, _values);

    [Benchmark]
    public void PushResolvedSlots() => _table.PushSlots(_slots, _values);

    [Benchmark]
    public void Pull() => _table.Pull(_keys, _values);
}
