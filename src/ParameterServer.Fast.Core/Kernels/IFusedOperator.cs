using System.Runtime.Intrinsics;

namespace ParameterServer.Fast.Core.Kernels;

/// <summary>
/// One element-wise operation dst = f(dst, src, a) at every vector width. The driver in
/// <see cref="VectorKernels"/> picks the widest width the CPU has and falls back to narrower
/// ones for the tail, so each operation is written once per width and nowhere else.
/// </summary>
internal interface IFusedOperator
{
    static abstract float Invoke(float dst, float src, float a);
    static abstract Vector128<float> Invoke(Vector128<float> dst, Vector128<float> src, Vector128<float> a);
    static abstract Vector256<float> Invoke(Vector256<float> dst, Vector256<float> src, Vector256<float> a);
    static abstract Vector512<float> Invoke(Vector512<float> dst, Vector512<float> src, Vector512<float> a);
}

/// <summary>dst + src: gradient aggregation.</summary>
internal readonly struct AddOperator : IFusedOperator
{
    public static float Invoke(float dst, float src, float a) => dst + src;
    public static Vector128<float> Invoke(Vector128<float> dst, Vector128<float> src, Vector128<float> a) => dst + src;
    public static Vector256<float> Invoke(Vector256<float> dst, Vector256<float> src, Vector256<float> a) => dst + src;
    public static Vector512<float> Invoke(Vector512<float> dst, Vector512<float> src, Vector512<float> a) => dst + src;
}

/// <summary>dst + a·src, fused: one rounding, as BLAS saxpy on FMA hardware.</summary>
internal readonly struct AxpyOperator : IFusedOperator
{
    public static float Invoke(float dst, float src, float a) => MathF.FusedMultiplyAdd(a, src, dst);
    public static Vector128<float> Invoke(Vector128<float> dst, Vector128<float> src, Vector128<float> a) => Vector128.FusedMultiplyAdd(a, src, dst);
    public static Vector256<float> Invoke(Vector256<float> dst, Vector256<float> src, Vector256<float> a) => Vector256.FusedMultiplyAdd(a, src, dst);
    public static Vector512<float> Invoke(Vector512<float> dst, Vector512<float> src, Vector512<float> a) => Vector512.FusedMultiplyAdd(a, src, dst);
}

/// <summary>a·dst (src is ignored).</summary>
internal readonly struct ScaleOperator : IFusedOperator
{
    public static float Invoke(float dst, float src, float a) => dst * a;
    public static Vector128<float> Invoke(Vector128<float> dst, Vector128<float> src, Vector128<float> a) => dst * a;
    public static Vector256<float> Invoke(Vector256<float> dst, Vector256<float> src, Vector256<float> a) => dst * a;
    public static Vector512<float> Invoke(Vector512<float> dst, Vector512<float> src, Vector512<float> a) => dst * a;
}
