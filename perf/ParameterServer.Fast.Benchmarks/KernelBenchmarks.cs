using BenchmarkDotNet.Attributes;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Core.Kernels;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Benchmarks;

/// <summary>The dense kernels against the scalar loop (Baseline) and the C reference, 0 B allocated per call.</summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private NativeSlab _dst = null!;
    private NativeSlab _src = null!;

    [Params(4096, 1 << 20, 16 << 20)]
    public int Count { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dst = NativeSlab.Allocate(Count * 4L);
        _src = NativeSlab.Allocate(Count * 4L);
        _src.AsSpan<float>(0, Count).Fill(0.001f);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _dst.Dispose();
        _src.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void SumIntoScalar()
    {
        Span<float> d = _dst.AsSpan<float>(0, Count);
        ReadOnlySpan<float> s = _src.AsSpan<float>(0, Count);
        for (int i = 0; i < d.Length; i++)
            d[i] += s[i];
    }

    [Benchmark]
    public void SumInto() => VectorKernels.SumInto(_dst.AsSpan<float>(0, Count), _src.AsSpan<float>(0, Count));

    [Benchmark]
    public void SumIntoC() => PsfNative.ReferenceSumInto(_dst.AsSpan<float>(0, Count), _src.AsSpan<float>(0, Count));

    [Benchmark]
    public void Axpy() => VectorKernels.Axpy(_dst.AsSpan<float>(0, Count), 0.5f, _src.AsSpan<float>(0, Count));

    [Benchmark]
    public float Dot() => VectorKernels.Dot(_dst.AsSpan<float>(0, Count), _src.AsSpan<float>(0, Count));
}
