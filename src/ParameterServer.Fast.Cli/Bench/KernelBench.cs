using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Core.Kernels;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Memory;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>
/// `psf bench kernels`: the SIMD kernels on arrays far larger than the caches (64 MiB by default),
/// with the C reference `dst[i] += src[i]` (-O3 -march=native) and memcpy from the native shim as
/// same-run baselines, and sparse-table scatter-add of 1 M random existing keys.
/// </summary>
public sealed class KernelBench : IBenchSuite
{
    public string Name => "kernels";

    public string Description => "SIMD kernels and updaters (GB/s) against C references; sparse scatter-add (M keys/s)";

    public (IReadOnlyList<BenchResult> Results, Dictionary<string, object> Config) Run(Arguments args, bool quick, TextWriter log)
    {
        int sizeMiB = args.Int("size-mib", 64, 1, 4096);
        int repetitions = args.Int("repetitions", quick ? 9 : 25, 1, 1000);
        int sparseKeys = args.Int("sparse-keys", 1 << 20, 1, 1 << 26);
        args.EnsureAllUsed();
        PsfNative.EnsureAvailable();

        long count = (long)sizeMiB * 1024 * 1024 / sizeof(float);
        var results = new List<BenchResult>();
        using var dstSlab = NativeSlab.Allocate(count * sizeof(float));
        using var srcSlab = NativeSlab.Allocate(count * sizeof(float));
        Span<float> dst = dstSlab.AsSpan<float>(0, (int)count);
        Span<float> src = srcSlab.AsSpan<float>(0, (int)count);
        int n = (int)count;
        var rng = new Random(7);
        for (int i = 0; i < src.Length; i++)
        {
            src[i] = (float)rng.NextDouble() * 1e-3f;
            dst[i] = 1f;
        }
        double bytes = count * sizeof(float);
        double Gbps(double seconds) => bytes / seconds / 1e9;

        double[] t = Measure.Interleaved(repetitions,
            () => VectorKernels.SumInto(dstSlab.AsSpan<float>(0, n), srcSlab.AsSpan<float>(0, n)),
            () => PsfNative.ReferenceSumInto(dstSlab.AsSpan<float>(0, n), srcSlab.AsSpan<float>(0, n)),
            () => srcSlab.AsSpan<byte>(0, n * 4).CopyTo(dstSlab.AsSpan<byte>(0, n * 4)),
            () => PsfNative.ReferenceCopy(dstSlab.AsSpan<byte>(0, n * 4), srcSlab.AsSpan<byte>(0, n * 4)),
            () => VectorKernels.Axpy(dstSlab.AsSpan<float>(0, n), 0.5f, srcSlab.AsSpan<float>(0, n)),
            () => VectorKernels.Scale(dstSlab.AsSpan<float>(0, n), 1.0000001f));
        results.Add(new BenchResult("sum_into", Gbps(t[0]), "GB/s") { Extra = { ["bytes"] = bytes } });
        results.Add(new BenchResult("sum_into_c", Gbps(t[1]), "GB/s"));
        results.Add(new BenchResult("sum_into_vs_c", t[1] / t[0], "ratio"));
        results.Add(new BenchResult("copy", Gbps(t[2]), "GB/s"));
        results.Add(new BenchResult("memcpy_c", Gbps(t[3]), "GB/s"));
        results.Add(new BenchResult("axpy", Gbps(t[4]), "GB/s"));
        results.Add(new BenchResult("scale", Gbps(t[5]), "GB/s"));

        // The updaters on a dense range of the same size: GB/s of gradient consumed.
        int rows = (int)Math.Min(count, 1 << 24);
        foreach (UpdaterKind kind in Enum.GetValues<UpdaterKind>())
        {
            // An updater with rows of a fixed width (block proximal: [g, u, round]) gets rows of it, as many floats in all.
            int width = Updater.RowWidthOf(kind) ?? 1;
            var spec = TableSpec.Dense("bench", new KeyRange(0, (ulong)(rows / width)), width, kind) with { Settings = new UpdaterSettings(LearningRate: 0.01f, L1: 0.001f) };
            using var table = (DenseTable)Table.Create(spec);
            float[] grads = srcSlab.AsSpan<float>(0, rows / width * width).ToArray();
            double[] u = Measure.Interleaved(Math.Max(3, repetitions / 3), () => table.PushRange(table.OwnedRange, grads));
            results.Add(new BenchResult($"update_{kind.ToString().ToLowerInvariant()}", grads.Length * 4.0 / u[0] / 1e9, "GB/s"));
        }

        results.AddRange(SparseScatterAdd(sparseKeys, repetitions));
        foreach (BenchResult r in results)
            log.WriteLine(JsonReport.Format(r));
        var config = new Dictionary<string, object>
        {
            ["size_mib"] = sizeMiB,
            ["repetitions"] = repetitions,
            ["sparse_keys"] = sparseKeys,
            ["vector512"] = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated,
            ["vector256"] = System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated,
            ["native_version"] = PsfNative.Version.ToString(),
        };
        return (results, config);
    }

    // Scatter-add of a push of `keys` random keys that already exist in a sparse table: with the
    // key lookup (a first push of a key list) and with slots already resolved (key cache hit).
    private static IEnumerable<BenchResult> SparseScatterAdd(int keyCount, int repetitions)
    {
        var rng = new Random(11);
        var keys = new ulong[keyCount];
        for (int i = 0; i < keys.Length; i++)
            keys[i] = (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 63);
        int unique = KeySet.SortUnique(keys);
        keys = keys[..unique];
        var values = new float[unique];
        Array.Fill(values, 0.25f);
        using var table = (SparseTable)Table.Create(TableSpec.Sparse("bench-sparse") with { MaxRows = unique + 1024 });
        table.Push(keys, values);
        var slots = new int[unique];
        table.ResolveSlots(keys, slots, create: false);
        var gathered = new float[unique];
        double[] t = Measure.Interleaved(repetitions,
            () => table.Push(keys, values),
            () => table.PushSlots(slots, values),
            () => table.ReadSlots(keys, slots, gathered),
            () => table.ResolveSlots(keys, slots, create: false));
        // The kernel: scatter-add into the table's rows by resolved slot (what a key-cache hit runs).
        yield return new BenchResult("sparse_scatter_add", unique / t[1] / 1e6, "M keys/s") { Extra = { ["keys"] = unique, ["slots_resolved"] = true } };
        // A whole push: validation, pipelined key → slot lookup, then the scatter-add.
        yield return new BenchResult("sparse_push", unique / t[0] / 1e6, "M keys/s") { Extra = { ["keys"] = unique, ["with_lookup"] = true } };
        yield return new BenchResult("sparse_gather_slots", unique / t[2] / 1e6, "M keys/s") { Extra = { ["keys"] = unique } };
        yield return new BenchResult("sparse_lookup", unique / t[3] / 1e6, "M keys/s") { Extra = { ["keys"] = unique } };
        yield return new BenchResult("sparse_bytes_per_key", (double)table.BytesHeld / unique, "bytes") { Extra = { ["keys"] = unique } };
    }
}
