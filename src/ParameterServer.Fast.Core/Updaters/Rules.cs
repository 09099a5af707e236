using System.Runtime.Intrinsics;

namespace ParameterServer.Fast.Core.Updaters;

/// <summary>w += g.</summary>
public readonly struct SumRule : IUpdateRule
{
    public static int StateCount => 0;
    public static UpdaterKind? Kind => UpdaterKind.Sum;

    public static void Apply(ref float w, ref float s0, ref float s1, ref float s2, ref float s3, float g, in UpdaterSettings p) => w += g;

    public static void Apply(ref Vector256<float> w, ref Vector256<float> s0, ref Vector256<float> s1,
        ref Vector256<float> s2, ref Vector256<float> s3, Vector256<float> g, in UpdaterSettings p) => w += g;
}

/// <summary>w -= η (g + λ₂ w).</summary>
public readonly struct SgdRule : IUpdateRule
{
    public static int StateCount => 0;
    public static UpdaterKind? Kind => UpdaterKind.Sgd;

    public static void Apply(ref float w, ref float s0, ref float s1, ref float s2, ref float s3, float g, in UpdaterSettings p) =>
        w -= p.LearningRate * (g + p.L2 * w);

    public static void Apply(ref Vector256<float> w, ref Vector256<float> s0, ref Vector256<float> s1,
        ref Vector256<float> s2, ref Vector256<float> s3, Vector256<float> g, in UpdaterSettings p) =>
        w -= Vector256.Create(p.LearningRate) * (g + Vector256.Create(p.L2) * w);
}

/// <summary>n += g²; w -= η g / (√n + ε). State: s0 = n.</summary>
public readonly struct AdagradRule : IUpdateRule
{
    public static int StateCount => 1;
    public static UpdaterKind? Kind => UpdaterKind.Adagrad;

    public static void Apply(ref float w, ref float s0, ref float s1, ref float s2, ref float s3, float g, in UpdaterSettings p)
    {
        s0 += g * g;
        w -= p.LearningRate * g / (MathF.Sqrt(s0) + p.Epsilon);
    }

    public static void Apply(ref Vector256<float> w, ref Vector256<float> s0, ref Vector256<float> s1,
        ref Vector256<float> s2, ref Vector256<float> s3, Vector256<float> g, in UpdaterSettings p)
    {
        s0 += g * g;
        w -= Vector256.Create(p.LearningRate) * g / (Vector256.Sqrt(s0) + Vector256.Create(p.Epsilon));
    }
}

/// <summary>
/// FTRL-proximal (McMahan et al., "Ad Click Prediction", KDD 2013, Algorithm 1), per coordinate:
/// σ = (√(n + g²) − √n) / α; z += g − σ w; n += g²;
/// w = 0 if |z| ≤ λ₁, else −(z − sign(z) λ₁) / ((β + √n) / α + λ₂). State: s0 = z, s1 = n.
/// </summary>
public readonly struct FtrlRule : IUpdateRule
{
    public static int StateCount => 2;
    public static UpdaterKind? Kind => UpdaterKind.Ftrl;

    public static void Apply(ref float w, ref float s0, ref float s1, ref float s2, ref float s3, float g, in UpdaterSettings p)
    {
        float n = s1;
        float nNew = n + g * g;
        float sqrtNew = MathF.Sqrt(nNew);
        float sigma = (sqrtNew - MathF.Sqrt(n)) / p.LearningRate;
        float z = s0 + g - sigma * w;
        s0 = z;
        s1 = nNew;
        float shrunk = MathF.Abs(z) - p.L1;
        w = shrunk <= 0f ? 0f : -MathF.CopySign(shrunk, z) / ((p.Beta + sqrtNew) / p.LearningRate + p.L2);
    }

    public static void Apply(ref Vector256<float> w, ref Vector256<float> s0, ref Vector256<float> s1,
        ref Vector256<float> s2, ref Vector256<float> s3, Vector256<float> g, in UpdaterSettings p)
    {
        Vector256<float> alpha = Vector256.Create(p.LearningRate);
        Vector256<float> n = s1;
        Vector256<float> nNew = n + g * g;
        Vector256<float> sqrtNew = Vector256.Sqrt(nNew);
        Vector256<float> sigma = (sqrtNew - Vector256.Sqrt(n)) / alpha;
        Vector256<float> z = s0 + g - sigma * w;
        s0 = z;
        s1 = nNew;
        Vector256<float> shrunk = Vector256.Abs(z) - Vector256.Create(p.L1);
        Vector256<float> value = -Vector256.CopySign(shrunk, z) / ((Vector256.Create(p.Beta) + sqrtNew) / alpha + Vector256.Create(p.L2));
        w = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(shrunk, Vector256<float>.Zero), Vector256<float>.Zero, value);
    }
}

/// <summary>
/// Adam (Kingma and Ba, ICLR 2015, Algorithm 1) with per-weight step counts, so rows of a sparse
/// table that are updated rarely get the right bias correction. State: s0 = m, s1 = v, and
/// s2 = 1 − β₁ᵗ, s3 = 1 − β₂ᵗ kept as running values (c ← β c + 1 − β, from c = 0 at t = 0):
/// no pow per update, and no underflow of βᵗ after thousands of steps.
/// </summary>
public readonly struct AdamRule : IUpdateRule
{
    public static int StateCount => 4;
    public static UpdaterKind? Kind => UpdaterKind.Adam;

    public static void Apply(ref float w, ref float s0, ref float s1, ref float s2, ref float s3, float g, in UpdaterSettings p)
    {
        s2 = p.Beta1 * s2 + (1f - p.Beta1);
        s3 = p.Beta2 * s3 + (1f - p.Beta2);
        s0 = p.Beta1 * s0 + (1f - p.Beta1) * g;
        s1 = p.Beta2 * s1 + (1f - p.Beta2) * g * g;
        float mHat = s0 / s2;
        float vHat = s1 / s3;
        w -= p.LearningRate * mHat / (MathF.Sqrt(vHat) + p.Epsilon);
    }

    public static void Apply(ref Vector256<float> w, ref Vector256<float> s0, ref Vector256<float> s1,
        ref Vector256<float> s2, ref Vector256<float> s3, Vector256<float> g, in UpdaterSettings p)
    {
        Vector256<float> beta1 = Vector256.Create(p.Beta1), beta2 = Vector256.Create(p.Beta2);
        Vector256<float> oneMinusBeta1 = Vector256.Create(1f - p.Beta1), oneMinusBeta2 = Vector256.Create(1f - p.Beta2);
        s2 = beta1 * s2 + oneMinusBeta1;
        s3 = beta2 * s3 + oneMinusBeta2;
        s0 = beta1 * s0 + oneMinusBeta1 * g;
        s1 = beta2 * s1 + oneMinusBeta2 * g * g;
        Vector256<float> mHat = s0 / s2;
        Vector256<float> vHat = s1 / s3;
        w -= Vector256.Create(p.LearningRate) * mHat / (Vector256.Sqrt(vHat) + Vector256.Create(p.Epsilon));
    }
}
