using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>
/// The strongest case of the KKT filter, known before the first pass: feature j's gradient
/// Σᵢ (pᵢ − yᵢ) xᵢⱼ is at most its mass Mⱼ = Σᵢ |xᵢⱼ| in size, since |pᵢ − yᵢ| ≤ 1. When Mⱼ ≤ λ₁
/// the gradient stays inside the L1 band whatever the other weights do, so wⱼ is 0 at the optimum
/// and every proximal step from 0 leaves it there: the feature need never be computed, pushed or
/// pulled. On click logs most features are this rare (about 70% of the default data's at λ₁ = 5).
/// Masses add up over shards, so the workers sum theirs through the servers once.
/// </summary>
public static class FeatureMass
{
    public const string TableName = "lr-feature-mass";

    /// <summary>The servers add up the workers' masses.</summary>
    public static TableSpec Spec { get; } = TableSpec.Sparse(TableName, 1, UpdaterKind.Sum) with { MaxRows = 1 << 26 };

    /// <summary>Σᵢ |xᵢⱼ| over the examples of <paramref name="data"/>, per feature.</summary>
    public static float[] Of(ShardColumns data)
    {
        var mass = new float[data.Features];
        for (int j = 0; j < mass.Length; j++)
        {
            double sum = 0;
            for (int e = data.ColumnStart[j]; e < data.ColumnStart[j + 1]; e++)
                sum += Math.Abs(data.Values[e]);
            mass[j] = (float)sum;
        }
        return mass;
    }

    /// <summary>
    /// Which features can never become nonzero, from their masses over all the training data
    /// (1e-6 below λ₁, so the rounding of float sums cannot screen a feature just above it).
    /// </summary>
    public static bool[] Screened(ReadOnlySpan<float> totalMass, float l1)
    {
        var screened = new bool[totalMass.Length];
        for (int j = 0; j < screened.Length; j++)
            screened[j] = totalMass[j] <= l1 * (1 - 1e-6f);
        return screened;
    }
}
