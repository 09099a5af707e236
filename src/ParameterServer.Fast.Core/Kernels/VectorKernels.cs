using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Fast.Core.Kernels;

/// <summary>
/// The dense SIMD kernels of aggregation and update: Vector512 where the CPU has it, then
/// Vector256, Vector128 and scalar, from one driver loop per shape of operation.
/// </summary>
public static class VectorKernels
{
    /// <summary>dst[i] += src[i]: a worker's gradient summed into the aggregate.</summary>
    public static void SumInto(Span<float> dst, ReadOnlySpan<float> src)
    {
        CheckSameLength(dst.Length, src.Length);
        Run<AddOperator>(ref MemoryMarshal.GetReference(dst), ref MemoryMarshal.GetReference(src), (nuint)dst.Length, 0f);
    }

    /// <summary>dst[i] += a · x[i].</summary>
    public static void Axpy(Span<float> dst, float a, ReadOnlySpan<float> x)
    {
        CheckSameLength(dst.Length, x.Length);
        Run<AxpyOperator>(ref MemoryMarshal.GetReference(dst), ref MemoryMarshal.GetReference(x), (nuint)dst.Length, a);
    }

    /// <summary>dst[i] *= a.</summary>
    public static void Scale(Span<float> dst, float a)
    {
        ref float d = ref MemoryMarshal.GetReference(dst);
        Run<ScaleOperator>(ref d, ref d, (nuint)dst.Length, a);
    }

    /// <summary>The dot product Σ x[i]·y[i], accumulated in float lanes then summed.</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        CheckSameLength(x.Length, y.Length);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)x.Length, i = 0;
        float sum = 0f;
        if (Vector256.IsHardwareAccelerated && n >= (nuint)Vector256<float>.Count)
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xr, i), Vector256.LoadUnsafe(ref yr, i), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xr, i + 8), Vector256.LoadUnsafe(ref yr, i + 8), acc1);
            }
            for (; i + 8 <= n; i += 8)
                acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xr, i), Vector256.LoadUnsafe(ref yr, i), acc0);
            sum = Vector256.Sum(acc0 + acc1);
        }
        for (; i < n; i++)
            sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref xr, i), Unsafe.Add(ref yr, i), sum);
        return sum;
    }

    // The ladder 512 → 256 → 128 → scalar. Four vectors per iteration at the widest width keep
    // enough loads in flight to reach memory bandwidth on large arrays. No overlapping tail:
    // the operations accumulate in place, so an element must never be processed twice.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Run<TOp>(ref float dst, ref float src, nuint n, float a) where TOp : struct, IFusedOperator
    {
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated && n >= (nuint)Vector512<float>.Count)
        {
            Vector512<float> va = Vector512.Create(a);
            for (; i + 64 <= n; i += 64)
            {
                Vector512<float> d0 = TOp.Invoke(Vector512.LoadUnsafe(ref dst, i), Vector512.LoadUnsafe(ref src, i), va);
                Vector512<float> d1 = TOp.Invoke(Vector512.LoadUnsafe(ref dst, i + 16), Vector512.LoadUnsafe(ref src, i + 16), va);
                Vector512<float> d2 = TOp.Invoke(Vector512.LoadUnsafe(ref dst, i + 32), Vector512.LoadUnsafe(ref src, i + 32), va);
                Vector512<float> d3 = TOp.Invoke(Vector512.LoadUnsafe(ref dst, i + 48), Vector512.LoadUnsafe(ref src, i + 48), va);
                d0.StoreUnsafe(ref dst, i);
                d1.StoreUnsafe(ref dst, i + 16);
                d2.StoreUnsafe(ref dst, i + 32);
                d3.StoreUnsafe(ref dst, i + 48);
            }
            for (; i + 16 <= n; i += 16)
                TOp.Invoke(Vector512.LoadUnsafe(ref dst, i), Vector512.LoadUnsafe(ref src, i), va).StoreUnsafe(ref dst, i);
        }
        if (Vector256.IsHardwareAccelerated && n - i >= (nuint)Vector256<float>.Count)
        {
            Vector256<float> va = Vector256.Create(a);
            for (; i + 32 <= n; i += 32)
            {
                Vector256<float> d0 = TOp.Invoke(Vector256.LoadUnsafe(ref dst, i), Vector256.LoadUnsafe(ref src, i), va);
                Vector256<float> d1 = TOp.Invoke(Vector256.LoadUnsafe(ref dst, i + 8), Vector256.LoadUnsafe(ref src, i + 8), va);
                Vector256<float> d2 = TOp.Invoke(Vector256.LoadUnsafe(ref dst, i + 16), Vector256.LoadUnsafe(ref src, i + 16), va);
                Vector256<float> d3 = TOp.Invoke(Vector256.LoadUnsafe(ref dst, i + 24), Vector256.LoadUnsafe(ref src, i + 24), va);
                d0.StoreUnsafe(ref dst, i);
                d1.StoreUnsafe(ref dst, i + 8);
                d2.StoreUnsafe(ref dst, i + 16);
                d3.StoreUnsafe(ref dst, i + 24);
            }
            for (; i + 8 <= n; i += 8)
                TOp.Invoke(Vector256.LoadUnsafe(ref dst, i), Vector256.LoadUnsafe(ref src, i), va).StoreUnsafe(ref dst, i);
        }
        if (Vector128.IsHardwareAccelerated && n - i >= (nuint)Vector128<float>.Count)
        {
            Vector128<float> va = Vector128.Create(a);
            for (; i + 4 <= n; i += 4)
                TOp.Invoke(Vector128.LoadUnsafe(ref dst, i), Vector128.LoadUnsafe(ref src, i), va).StoreUnsafe(ref dst, i);
        }
        for (; i < n; i++)
            Unsafe.Add(ref dst, i) = TOp.Invoke(Unsafe.Add(ref dst, i), Unsafe.Add(ref src, i), a);
    }

    internal static void CheckSameLength(int dst, int src)
    {
        if (dst != src)
            ThrowLengthMismatch(dst, src);
    }

    [DoesNotReturn]
    private static void ThrowLengthMismatch(int dst, int src) =>
        throw new ArgumentException($"spans differ in length: destination {dst}, source {src}");
}
