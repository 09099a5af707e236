using ParameterServer.Fast.Core.Memory;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Core.Tests.Updaters;

[Category("Kernels")]
public class UpdaterTests
{
    private static readonly UpdaterSettings s_settings = new(LearningRate: 0.05f, L1: 0.01f, L2: 0.02f, Beta1: 0.9f, Beta2: 0.999f, Epsilon: 1e-6f, Beta: 1f);

    // The element-wise rules; the block proximal updater works on whole rows (BlockProximalUpdaterTests).
    private static IEnumerable<UpdaterKind> Kinds() => Enum.GetValues<UpdaterKind>().Where(k => Updater.RowWidthOf(k) is null);

    [TestCaseSource(nameof(Kinds))]
    public void RangeUpdatesMatchThePublishedFormulas(UpdaterKind kind)
    {
        var rng = new Random((int)kind + 1);
        foreach (int n in new[] { 0, 1, 7, 8, 9, 31, 64, 257, 1000 })
        {
            Updater updater = Updater.Create(kind, s_settings);
            using var store = new RowStore(1, updater.StateCount, Math.Max(n, 1));
            store.EnsureRows(n);
            var reference = new ReferenceUpdater(kind, s_settings, n);
            var grads = new float[n];
            for (int step = 0; step < 25; step++)
            {
                for (int i = 0; i < n; i++)
                    grads[i] = (float)((rng.NextDouble() * 2) - 1) * (i % 5 == 0 ? 0.001f : 1f);
                updater.ApplyRange(store, 0, grads);
                for (int i = 0; i < n; i++)
                    reference.Step(i, grads[i]);
            }
            AssertClose(store.WeightRows(0, n).ToArray(), reference.W, $"{kind}, length {n}");
        }
    }

    [TestCaseSource(nameof(Kinds))]
    public void RowUpdatesMatchThePublishedFormulas(UpdaterKind kind)
    {
        var rng = new Random((int)kind + 10);
        foreach (int width in new[] { 1, 3, 8, 12 })
        {
            const int rows = 64;
            Updater updater = Updater.Create(kind, s_settings);
            using var store = new RowStore(width, updater.StateCount, rows);
            store.EnsureRows(rows);
            var reference = new ReferenceUpdater(kind, s_settings, rows * width);
            for (int step = 0; step < 30; step++)
            {
                int[] slots = [.. Enumerable.Range(0, rows).OrderBy(_ => rng.Next()).Take(rng.Next(1, rows))];
                var grads = new float[slots.Length * width];
                for (int i = 0; i < grads.Length; i++)
                    grads[i] = (float)((rng.NextDouble() * 2) - 1);
                updater.ApplyRows(store, slots, grads);
                for (int i = 0; i < slots.Length; i++)
                {
                    for (int c = 0; c < width; c++)
                        reference.Step((slots[i] * width) + c, grads[(i * width) + c]);
                }
            }
            AssertClose(store.WeightRows(0, rows).ToArray(), reference.W, $"{kind}, width {width}");
        }
    }

    [Test]
    public void FtrlKeepsWeightsExactlyZeroUnderStrongL1()
    {
        var settings = new UpdaterSettings(LearningRate: 0.1f, L1: 10f);
        Updater updater = Updater.Create(UpdaterKind.Ftrl, settings);
        using var store = new RowStore(1, updater.StateCount, 16);
        store.EnsureRows(16);
        var grads = Enumerable.Range(0, 16).Select(i => (float)Math.Sin(i)).ToArray();
        for (int step = 0; step < 5; step++)
            updater.ApplyRange(store, 0, grads);
        Assert.That(store.WeightRows(0, 16).ToArray(), Is.All.EqualTo(0f));
    }

    [Test]
    public void AdamBiasCorrectionSurvivesManySteps()
    {
        // β₁ᵗ underflows float after about 1,000 steps; the rule must not fall back to t = 0 then.
        Updater updater = Updater.Create(UpdaterKind.Adam, new UpdaterSettings(LearningRate: 0.001f));
        using var store = new RowStore(1, updater.StateCount, 1);
        store.EnsureRows(1);
        for (int step = 0; step < 3000; step++)
            updater.ApplyRange(store, 0, [1f]);
        // With a constant gradient every step moves w by ≈ −lr: 3000 steps ≈ −3.
        Assert.That(store.WeightRows(0, 1)[0], Is.EqualTo(-3f).Within(0.01f));
    }

    [Test]
    public void UserRulesPlugIn()
    {
        Updater updater = Updater.Create<HalvingRule>(UpdaterSettings.Default);
        using var store = new RowStore(1, updater.StateCount, 20);
        store.EnsureRows(20);
        updater.ApplyRange(store, 0, Enumerable.Repeat(4f, 20).ToArray());
        Assert.That(updater.Kind, Is.Null);
        Assert.That(store.WeightRows(0, 20).ToArray(), Is.All.EqualTo(2f));
    }

    [Test]
    public void BadSettingsAndNamesAreRejected()
    {
        Assert.Throws<ArgumentException>(() => Updater.Create(UpdaterKind.Sgd, new UpdaterSettings(LearningRate: -1)));
        Assert.Throws<ArgumentException>(() => Updater.Create(UpdaterKind.Adam, new UpdaterSettings(Beta1: 1f)));
        Assert.Throws<ArgumentException>(() => Updater.ParseKind("rmsprop"));
        Assert.That(Updater.ParseKind("FTRL"), Is.EqualTo(UpdaterKind.Ftrl));
    }

    private static void AssertClose(float[] actual, double[] expected, string what)
    {
        for (int i = 0; i < actual.Length; i++)
        {
            double tolerance = 1e-4 + (1e-4 * Math.Abs(expected[i]));
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance), $"{what}: weight {i}");
        }
    }

    private readonly struct HalvingRule : IUpdateRule
    {
        public static int StateCount => 0;
        public static UpdaterKind? Kind => null;

        public static void Apply(ref float w, ref float s0, ref float s1, ref float s2, ref float s3, float g, in UpdaterSettings p) => w += g * 0.5f;

        public static void Apply(ref System.Runtime.Intrinsics.Vector256<float> w, ref System.Runtime.Intrinsics.Vector256<float> s0,
            ref System.Runtime.Intrinsics.Vector256<float> s1, ref System.Runtime.Intrinsics.Vector256<float> s2,
            ref System.Runtime.Intrinsics.Vector256<float> s3, System.Runtime.Intrinsics.Vector256<float> g, in UpdaterSettings p) =>
            w += g * System.Runtime.Intrinsics.Vector256.Create(0.5f);
    }
}
