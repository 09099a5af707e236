using ParameterServer.Fast.Core.Memory;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Core.Tests.Updaters;

[Category("Kernels")]
public class BlockProximalUpdaterTests
{
    // The 1-D problem the step solves, minimised by brute force: ternary search is exact enough on
    // a convex function, and it knows nothing of soft thresholding.
    private static double Minimiser(double anchor, double g, double u, double eta, double l1, double l2)
    {
        double Objective(double w) => (g * (w - anchor)) + (u / (2 * eta) * (w - anchor) * (w - anchor)) + (l1 * Math.Abs(w)) + (l2 / 2 * w * w);
        double lo = -1e4, hi = 1e4;
        for (int i = 0; i < 400; i++)
        {
            double a = lo + ((hi - lo) / 3), b = hi - ((hi - lo) / 3);
            if (Objective(a) <= Objective(b))
                hi = b;
            else
                lo = a;
        }
        double best = (lo + hi) / 2;
        return Objective(0) <= Objective(best) ? 0 : best;
    }

    [Test]
    public void TheStepMinimisesTheRegularisedQuadraticModel()
    {
        var rng = new Random(3);
        for (int trial = 0; trial < 2000; trial++)
        {
            double anchor = trial % 4 == 0 ? 0 : (rng.NextDouble() - 0.5) * 6;
            double g = (rng.NextDouble() - 0.5) * 40, u = rng.NextDouble() * 10;
            double eta = trial % 3 == 0 ? 1 : 0.2 + rng.NextDouble(), l1 = rng.NextDouble() * 10, l2 = trial % 2 == 0 ? 0 : rng.NextDouble();
            if (u / eta + l2 < 1e-3)
                continue;
            var p = new UpdaterSettings(LearningRate: (float)eta, L1: (float)l1, L2: (float)l2);
            float w = ProximalStep.Solve((float)anchor, (float)g, (float)u, p);
            double expected = Minimiser((float)anchor, (float)g, (float)u, (float)eta, (float)l1, (float)l2);
            Assert.That(w, Is.EqualTo(expected).Within(1e-4 + (1e-4 * Math.Abs(expected))), $"trial {trial}: w₀ {anchor}, g {g}, u {u}, η {eta}, λ₁ {l1}, λ₂ {l2}");
        }
    }

    [Test]
    public void AZeroWeightWhoseGradientIsInsideTheL1BandStaysZero()
    {
        var p = new UpdaterSettings(LearningRate: 1f, L1: 2f);
        Assert.That(ProximalStep.Solve(0f, 1.99f, 5f, p), Is.EqualTo(0f));
        Assert.That(ProximalStep.Solve(0f, -2f, 5f, p), Is.EqualTo(0f));
        Assert.That(ProximalStep.Solve(0f, -2.5f, 5f, p), Is.EqualTo(0.1f).Within(1e-6f));
        Assert.That(ProximalStep.Solve(0.7f, 3f, 0f, p), Is.EqualTo(0.7f), "no curvature and no L2: the weight is kept");
    }

    [Test]
    public void PushesOfOneRoundAddUpBeforeTheStep()
    {
        var p = new UpdaterSettings(LearningRate: 1f, L1: 1f, L2: 0.5f);
        Updater updater = Updater.Create(UpdaterKind.BlockProximal, p);
        using var store = new RowStore(3, updater.StateCount, 4);
        store.EnsureRows(4);
        // Three workers' shares of round 1 in any order, then round 2 from the weight round 1 left.
        updater.ApplyRows(store, [2], [-3f, 1f, 1f]);
        updater.ApplyRows(store, [2], [-2f, 2f, 1f]);
        updater.ApplyRows(store, [2], [-1f, 1f, 1f]);
        float afterRound1 = ProximalStep.Solve(0f, -6f, 4f, p);
        Assert.That(store.WeightRows(2, 1).ToArray(), Is.EqualTo(new[] { afterRound1, -6f, 1f }));
        updater.ApplyRows(store, [2], [0.5f, 3f, 2f]);
        updater.ApplyRows(store, [2], [0.5f, 1f, 2f]);
        Assert.That(store.WeightRows(2, 1)[0], Is.EqualTo(ProximalStep.Solve(afterRound1, 1f, 4f, p)));
        // A late share of round 1 changes nothing: its round is closed.
        float before = store.WeightRows(2, 1)[0];
        updater.ApplyRows(store, [2], [-100f, 1f, 1f]);
        Assert.That(store.WeightRows(2, 1).ToArray(), Is.EqualTo(new[] { before, 1f, 2f }));
        Assert.That(store.WeightRows(0, 1).ToArray(), Is.All.EqualTo(0f), "rows not pushed are untouched");
    }

    [Test]
    public void RowAndRangeUpdatesMatchAScalarReference()
    {
        var p = new UpdaterSettings(LearningRate: 0.8f, L1: 0.3f, L2: 0.1f);
        var rng = new Random(11);
        const int rows = 40;
        Updater byRow = Updater.Create(UpdaterKind.BlockProximal, p), byRange = Updater.Create(UpdaterKind.BlockProximal, p);
        using var rowStore = new RowStore(3, byRow.StateCount, rows);
        using var rangeStore = new RowStore(3, byRange.StateCount, rows);
        rowStore.EnsureRows(rows);
        rangeStore.EnsureRows(rows);
        // The reference: per row the sums of the current round and the weight it started from.
        var w = new double[rows];
        var anchor = new double[rows];
        var gSum = new double[rows];
        var uSum = new double[rows];
        for (int round = 1; round <= 6; round++)
        {
            Array.Copy(w, anchor, rows);
            Array.Clear(gSum);
            Array.Clear(uSum);
            for (int worker = 0; worker < 3; worker++)
            {
                var pushed = new float[rows * 3];
                for (int r = 0; r < rows; r++)
                {
                    pushed[(r * 3) + 0] = (float)((rng.NextDouble() - 0.5) * 4);
                    pushed[(r * 3) + 1] = (float)(rng.NextDouble() * 3);
                    pushed[(r * 3) + 2] = round;
                    gSum[r] += pushed[(r * 3) + 0];
                    uSum[r] += pushed[(r * 3) + 1];
                }
                byRow.ApplyRows(rowStore, [.. Enumerable.Range(0, rows)], pushed);
                byRange.ApplyRange(rangeStore, 0, pushed);
            }
            for (int r = 0; r < rows; r++)
            {
                double x = (uSum[r] / p.LearningRate * anchor[r]) - gSum[r];
                w[r] = Math.Abs(x) <= p.L1 ? 0 : (x - (Math.Sign(x) * p.L1)) / ((uSum[r] / p.LearningRate) + p.L2);
            }
        }
        for (int r = 0; r < rows; r++)
        {
            Assert.That(rowStore.WeightRows(r, 1)[0], Is.EqualTo(w[r]).Within(1e-4), $"row {r}");
            Assert.That(rangeStore.WeightRows(r, 1)[0], Is.EqualTo(w[r]).Within(1e-4), $"row {r}");
        }
    }

    [Test]
    public void TablesOfTheWrongWidthAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => TableSpec.Sparse("lr", 1, UpdaterKind.BlockProximal).Validate());
        Assert.That(e!.Message, Does.Contain("width 3"));
        Assert.That(Updater.ParseKind("blockproximal"), Is.EqualTo(UpdaterKind.BlockProximal));
        using Table table = Table.Create(TableSpec.Sparse("lr", 3, UpdaterKind.BlockProximal) with { Settings = new UpdaterSettings(LearningRate: 1f) });
        table.Push([7UL, 9UL], [1f, 2f, 1f, -3f, 2f, 1f]);
        var pulled = new float[6];
        table.Pull([7UL, 9UL], pulled);
        Assert.That(pulled, Is.EqualTo(new[] { -0.5f, 1f, 1f, 1.5f, -3f, 1f }), "L1 0, η 1: w = −g/u; then G and the round");
    }
}
