using ParameterServer.Fast.Apps.SumCheck;
using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Apps.Tests;

public class SumCheckTests
{
    private static readonly SumCheckOptions s_small = new() { Rounds = 12, SparseKeys = 3000, DenseKeys = 1000, Seed = 7 };

    [Test]
    public void ThePlanIsDeterministicAndItsExpectedTablesAreTheSumOfEveryRound()
    {
        var plan = new SumCheckPlan(s_small);
        var again = new SumCheckPlan(s_small);
        Assert.That(plan.SparseKeys, Is.EqualTo(again.SparseKeys));
        Assert.That(plan.SparseKeys, Is.Ordered.And.Unique);
        Assert.That(plan.SparseKeys.Length, Is.EqualTo(s_small.SparseKeys));
        // Spread over the key space, so every server of the ring gets some.
        Assert.That(plan.SparseKeys.Count(k => k < ulong.MaxValue / 2), Is.InRange(1200, 1800));

        var sparse = new double[plan.SparseKeys.Length];
        var dense = new double[s_small.DenseKeys];
        var keys = new ulong[plan.SparseKeys.Length];
        var values = new float[plan.SparseKeys.Length];
        var denseValues = new float[s_small.DenseKeys];
        long touched = 0;
        for (int w = 0; w < 3; w++)
        {
            for (int r = 0; r < s_small.Rounds; r++)
            {
                int n = plan.SparseRound(w, r, keys, values);
                touched += n;
                for (int i = 0; i < n; i++)
                {
                    Assert.That(values[i], Is.InRange(1f, SumCheckOptions.MaxIncrement));
                    sparse[Array.BinarySearch(plan.SparseKeys, keys[i])] += values[i];
                }
                plan.DenseRound(w, r, denseValues);
                for (int i = 0; i < dense.Length; i++)
                    dense[i] += denseValues[i];
            }
        }
        (double[] expectedSparse, double[] expectedDense) = plan.Expected(3);
        Assert.That(expectedSparse, Is.EqualTo(sparse));
        Assert.That(expectedDense, Is.EqualTo(dense));
        // About one key in four per round.
        Assert.That(touched / (3.0 * s_small.Rounds * plan.SparseKeys.Length), Is.InRange(0.2, 0.3));
    }

    [Test]
    public void TooManyRoundsForExactFloatSumsAreRefused()
    {
        var o = new SumCheckOptions { Rounds = 1 << 20 };
        Assert.That(() => o.ValidateFor(4), Throws.ArgumentException.With.Message.Contains("exact float"));
        Assert.That(() => new SumCheckOptions { Rounds = 0 }.Validate(), Throws.ArgumentException.With.Message.Contains("rounds"));
    }

    [Test, CancelAfter(120_000)]
    public async Task AJobInOneProcessEndsWithEveryRowExact()
    {
        var results = new SumCheckResult[2];
        await InProcessJob.RunAsync(2, 2, async c => results[c.Rank] = await SumCheckJob.RunAndReportAsync(c, s_small), TimeSpan.FromSeconds(90));
        Assert.That(results[0].RowsChecked, Is.EqualTo(s_small.SparseKeys + s_small.DenseKeys));
        Assert.That(results[0].Mismatches, Is.Zero, results[0].FirstMismatch);
        Assert.That(results[1].Mismatches, Is.EqualTo(-1), "only worker 0 compares");
    }

    [Test, CancelAfter(120_000)]
    public async Task RepeatedKeySetsGoThroughTheCachesAndStayExact()
    {
        SumCheckOptions o = s_small with { KeyLists = 3 };
        var plan = new SumCheckPlan(o);
        Assert.That(Enumerable.Range(0, plan.SparseKeys.Length).Select(i => plan.Touches(1, 4, i)),
            Is.EqualTo(Enumerable.Range(0, plan.SparseKeys.Length).Select(i => plan.Touches(1, 1, i))), "round 4 reuses round 1's set");
        var results = new SumCheckResult[2];
        await InProcessJob.RunAsync(2, 2, async c => results[c.Rank] = await SumCheckJob.RunAndReportAsync(c, o), TimeSpan.FromSeconds(90));
        Assert.That(results[0].Mismatches, Is.Zero, results[0].FirstMismatch);
    }

    [Test, CancelAfter(120_000)]
    public async Task OneExtraPushIsCaughtAsOneMismatchNamingTheRow()
    {
        var plan = new SumCheckPlan(s_small);
        var results = new SumCheckResult[2];
        await InProcessJob.RunAsync(2, 2, async c =>
        {
            if (c.Rank == 1)
            {
                // A stray update the plan does not know: exactly one row must come out wrong.
                TableHandle sparse = await c.DeclareTableAsync(TableSpec.Sparse(SumCheckJob.SparseTable, 1, UpdaterKind.Sum));
                await c.PushAsync(sparse, new[] { plan.SparseKeys[17] }, new[] { 1f });
            }
            results[c.Rank] = await SumCheckJob.RunAndReportAsync(c, s_small);
        }, TimeSpan.FromSeconds(90));
        Assert.That(results[0].Mismatches, Is.EqualTo(1));
        Assert.That(results[0].SparseMismatches, Is.EqualTo(1));
        Assert.That(results[0].MaxAbsError, Is.EqualTo(1));
        Assert.That(results[0].FirstMismatch, Does.StartWith($"sparse key {plan.SparseKeys[17]}:"));
    }
}
