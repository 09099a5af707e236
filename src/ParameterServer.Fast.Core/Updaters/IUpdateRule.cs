using System.Runtime.Intrinsics;

namespace ParameterServer.Fast.Core.Updaters;

/// <summary>
/// An element-wise update rule: given the gradient g, update the weight w and up to four state
/// values kept per weight (s0..s3, zero before the first update). A rule is written once in
/// scalar and once in Vector256 form; the drivers in Kernels/UpdateKernels.cs run it over
/// contiguous ranges or scattered rows. Implement this to plug in user code.
/// </summary>
public interface IUpdateRule
{
    /// <summary>How many state values per weight the rule uses (0..4).</summary>
    static abstract int StateCount { get; }

    static abstract UpdaterKind? Kind { get; }

    static abstract void Apply(ref float w, ref float s0, ref float s1, ref float s2, ref float s3, float g, in UpdaterSettings p);

    static abstract void Apply(ref Vector256<float> w, ref Vector256<float> s0, ref Vector256<float> s1,
        ref Vector256<float> s2, ref Vector256<float> s3, Vector256<float> g, in UpdaterSettings p);
}
