using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Codec.Filters;

namespace ParameterServer.Fast.Apps.Tests;

public class KktFilterTests
{
    private const float L1 = 2f;

    private static bool Inactive(float previous, float w, float g) =>
        new ProximalKktCondition(_ => previous, L1).IsInactive(1, [w, g, 1f]);

    [Test]
    public void AFeatureIsDroppedOnlyWhenItWasAndStaysZeroWithItsGradientInsideTheBand()
    {
        float band = L1 * (1 - ProximalKktCondition.Margin);
        Assert.That(Inactive(0f, 0f, 0f), Is.True);
        Assert.That(Inactive(0f, 0f, band), Is.True, "the edge of the band counts as inside");
        Assert.That(Inactive(0f, 0f, -band), Is.True);
        Assert.That(Inactive(0f, 0f, band * 1.001f), Is.False, "inside [−λ₁, λ₁] but within the margin: may still move");
        Assert.That(Inactive(0f, 0f, -L1 * 1.5f), Is.False, "outside the band: the step makes it nonzero");
        Assert.That(Inactive(0f, 0.3f, 0f), Is.False, "a nonzero weight always travels");
        Assert.That(Inactive(0.3f, 0f, 0f), Is.False, "just became zero: its gradient was taken at the old weight");
    }

    [Test]
    public void TheFilterKeepsTheActiveFeaturesInOrderAndDropsTheRest()
    {
        // Five features, pulled rows [w, G, round]: keep 0 (nonzero), 2 (G outside the band), 4 (was nonzero).
        float[] previous = [0.5f, 0f, 0f, 0f, -1f];
        ulong[] keys = [10, 20, 30, 40, 50];
        float[] rows = [0.4f, 1f, 3f, 0f, 0.5f, 3f, 0f, -2.5f, 3f, 0f, -1.7f, 3f, 0f, 0.1f, 3f];
        var filter = new KktFilter(new ProximalKktCondition(key => previous[(int)(key / 10) - 1], L1));
        int kept = filter.Apply(keys, rows, 3);
        Assert.That(keys[..kept], Is.EqualTo(new ulong[] { 10, 30, 50 }));
        Assert.That(rows[..(kept * 3)], Is.EqualTo(new[] { 0.4f, 1f, 3f, 0f, -2.5f, 3f, 0f, 0.1f, 3f }));
    }

    [Test]
    public void FeaturesWhoseMassIsInsideTheBandAreScreenedForGood()
    {
        // |Σᵢ (pᵢ − yᵢ) xᵢⱼ| ≤ Σᵢ |xᵢⱼ|: with the mass at most λ₁ the gradient can never leave the band.
        var data = new SparseDataset([0, 2, 4, 5], [1, 2, 1, 3, 3], [1f, -2f, 1f, 0.5f, 4f], [1f, 0f, 1f]);
        var columns = ShardColumns.Build(data);
        Assert.That(FeatureMass.Of(columns), Is.EqualTo(new[] { 2f, 2f, 4.5f }));
        Assert.That(FeatureMass.Screened([2f, 2f, 4.5f], L1), Is.EqualTo(new[] { false, false, false }), "a mass of exactly λ₁ is kept: the screen stays 1e-6 below it for float rounding");
        Assert.That(FeatureMass.Screened([1.9f, 2.1f, 0f], L1), Is.EqualTo(new[] { true, false, true }));
        var active = new ActiveFeatures([[0, 2], [1]]);
        active.Screen([true, false, false]);
        active.Reset(0);
        Assert.That(active.Of(0).ToArray(), Is.EqualTo(new[] { 2 }), "a reset does not bring a screened feature back");
    }

    [Test]
    public void DroppedFeaturesLeaveTheActiveSetUntilAReset()
    {
        var active = new ActiveFeatures([[0, 2, 4, 6], [1, 3, 5]]);
        active.Drop(0, [0, 2, 4, 6], [2, 6]);
        Assert.That(active.Of(0).ToArray(), Is.EqualTo(new[] { 2, 6 }));
        Assert.That(active.Of(1).ToArray(), Is.EqualTo(new[] { 1, 3, 5 }), "other blocks untouched");
        active.Drop(0, [2], []);
        Assert.That(active.Of(0).ToArray(), Is.EqualTo(new[] { 6 }), "only the round's features can be dropped");
        Assert.That(active.Count, Is.EqualTo(4));
        active.Reset(0);
        Assert.That(active.Of(0).ToArray(), Is.EqualTo(new[] { 0, 2, 4, 6 }));
    }

    [Test]
    public void WithTheFilterOnlyActiveFeaturesAreComputedAndTheOptimumIsTheSame()
    {
        var data = new GeneratedData(new ClickLogGenerator { Examples = 3_000, Vocabulary = 2_000, FeaturesPerExample = 12, Seed = 3 }, 500);
        (SparseDataset train, SparseDataset test) = data.Load();
        var o = new SparseLROptions { Data = data, L1 = 3f, Blocks = 4, Epochs = 40 };
        BaselineResult on = BlockProximalBaseline.Run(o, train, test);
        BaselineResult off = BlockProximalBaseline.Run(o with { KktFilter = false }, train, test);
        Assert.That(on.Objective, Is.EqualTo(off.Objective).Within(1e-4 * off.Objective));
        Assert.That(on.NonZeros, Is.EqualTo(off.NonZeros).Within(off.NonZeros / 20 + 1));
    }
}
