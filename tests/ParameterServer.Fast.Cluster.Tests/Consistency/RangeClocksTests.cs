using ParameterServer.Fast.Cluster.Consistency;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Tests.Consistency;

public sealed class RangeClocksTests
{
    [Test]
    public void AFreshRangeIsOneSegmentAtClockZero()
    {
        var clocks = new RangeClocks(new KeyRange(0, 1000), workers: 3);

        Assert.That(clocks.SegmentCount, Is.EqualTo(1));
        Assert.That(clocks.MinimumClock(new KeyRange(0, 1000)), Is.Zero);
    }

    [Test]
    public void AdvancingPartOfARangeSplitsItAndCatchingUpMergesItBack()
    {
        var clocks = new RangeClocks(new KeyRange(0, 1000), workers: 2);

        clocks.Advance(0, new KeyRange(100, 200), 1);
        Assert.That(clocks.SegmentCount, Is.EqualTo(3), "[0,100) [100,200) [200,1000)");
        Assert.That(clocks.ClockOf(0, new KeyRange(100, 200)), Is.EqualTo(1));
        Assert.That(clocks.ClockOf(0, new KeyRange(0, 100)), Is.Zero);
        Assert.That(clocks.ClockOf(0, new KeyRange(200, 1000)), Is.Zero);

        clocks.Advance(0, new KeyRange(0, 100), 1);
        Assert.That(clocks.SegmentCount, Is.EqualTo(2), "[0,200) caught up with itself");
        clocks.Advance(0, new KeyRange(200, 1000), 1);
        Assert.That(clocks.SegmentCount, Is.EqualTo(1));
        Assert.That(clocks.ClockOf(0, new KeyRange(0, 1000)), Is.EqualTo(1));
        Assert.That(clocks.MinimumClock(new KeyRange(0, 1000)), Is.Zero, "worker 1 is still at 0");
    }

    [Test]
    public void WholeTableAdvancesKeepASingleSegment()
    {
        var held = new KeyRange(0, 1 << 20);
        var clocks = new RangeClocks(held, workers: 4);

        for (long c = 1; c <= 100; c++)
        {
            for (int w = 0; w < 4; w++)
            {
                clocks.Advance(w, held, c);
                Assert.That(clocks.SegmentCount, Is.EqualTo(1));
            }
        }
        Assert.That(clocks.MinimumClock(held), Is.EqualTo(100));
    }

    [Test]
    public void SegmentsStayFewWhenWorkersSweepSubRangesInTurn()
    {
        var held = new KeyRange(0, 10_000);
        KeyRange[] blocks = held.Split(10);
        var clocks = new RangeClocks(held, workers: 3);
        int most = 0;

        for (long c = 1; c <= 20; c++)
        {
            for (int w = 0; w < 3; w++)
            {
                foreach (KeyRange b in blocks)
                {
                    clocks.Advance(w, b, c);
                    most = Math.Max(most, clocks.SegmentCount);
                }
            }
            Assert.That(clocks.SegmentCount, Is.EqualTo(1), $"after round {c} every block is equal again");
        }
        Assert.That(most, Is.LessThanOrEqualTo(2), "a sweep in key order splits off only the part not yet reached");
    }

    [Test]
    public void AdvanceNeverLowersAClock()
    {
        var clocks = new RangeClocks(new KeyRange(0, 100), workers: 1);

        clocks.Advance(0, new KeyRange(0, 100), 5);
        clocks.Advance(0, new KeyRange(10, 20), 3);

        Assert.That(clocks.ClockOf(0, new KeyRange(10, 20)), Is.EqualTo(5));
        Assert.That(clocks.SegmentCount, Is.EqualTo(1));
    }

    [Test]
    public void AdvanceOutsideTheHeldRangeIsIgnored()
    {
        var clocks = new RangeClocks(new KeyRange(100, 200), workers: 1);

        clocks.Advance(0, new KeyRange(0, 100), 7);
        clocks.Advance(0, new KeyRange(150, 400), 2);

        Assert.That(clocks.ClockOf(0, new KeyRange(100, 150)), Is.Zero);
        Assert.That(clocks.ClockOf(0, new KeyRange(150, 200)), Is.EqualTo(2));
        Assert.That(clocks.SegmentCount, Is.EqualTo(2));
    }

    [Test]
    public void MinimumClockIgnoresDeadWorkersAndCountsThemAgainWhenRevived()
    {
        var all = new KeyRange(0, 100);
        var clocks = new RangeClocks(all, workers: 3);
        clocks.Advance(0, all, 5);
        clocks.Advance(2, all, 4);

        Assert.That(clocks.MinimumClock(all), Is.Zero, "worker 1 never advanced");
        clocks.RemoveWorker(1);
        Assert.That(clocks.MinimumClock(all), Is.EqualTo(4));
        Assert.That(clocks.IsLive(1), Is.False);
        clocks.ReviveWorker(1);
        Assert.That(clocks.IsLive(1), Is.True);
        // A revived worker (a replacement rerunning the shard) starts at the slowest live clock:
        // it counts again, without holding the others back to where the dead one stopped.
        Assert.That(clocks.ClockOf(1, all), Is.EqualTo(4));
        Assert.That(clocks.MinimumClock(all), Is.EqualTo(4));
    }

    [Test]
    public void MinimumClockWithNoLiveWorkerHoldsNobodyBack()
    {
        var all = new KeyRange(0, 100);
        var clocks = new RangeClocks(all, workers: 2);
        clocks.RemoveWorker(0);
        clocks.RemoveWorker(1);

        Assert.That(clocks.MinimumClock(all), Is.EqualTo(long.MaxValue));
    }

    [Test]
    public void AnAddedWorkerStartsAtTheClockItIsGiven()
    {
        var all = new KeyRange(0, 100);
        var clocks = new RangeClocks(all, workers: 1);
        clocks.Advance(0, new KeyRange(0, 50), 6);

        int added = clocks.AddWorker(3);

        Assert.That(added, Is.EqualTo(1));
        Assert.That(clocks.ClockOf(1, all), Is.EqualTo(3));
        Assert.That(clocks.MinimumClock(new KeyRange(0, 50)), Is.EqualTo(3));
        Assert.That(clocks.MinimumClock(new KeyRange(50, 100)), Is.Zero);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void AgreesWithAPerKeyClockModelUnderRandomOperations(int seed)
    {
        const int keys = 64, workers = 4;
        var rng = new Random(seed);
        var clocks = new RangeClocks(new KeyRange(0, keys), workers);
        var model = new long[workers, keys];
        var live = new bool[workers];
        Array.Fill(live, true);

        for (int step = 0; step < 3000; step++)
        {
            KeyRange r = RandomRange(rng, keys);
            switch (rng.Next(10))
            {
                case < 7:
                    int w = rng.Next(workers);
                    long c = rng.Next(12);
                    clocks.Advance(w, r, c);
                    for (ulong k = r.Begin; k < r.End; k++)
                        model[w, k] = Math.Max(model[w, k], c);
                    break;
                case 7:
                    int dead = rng.Next(workers);
                    clocks.RemoveWorker(dead);
                    live[dead] = false;
                    break;
                default:
                    int back = rng.Next(workers);
                    clocks.ReviveWorker(back);
                    for (int k = 0; k < keys; k++)
                    {
                        long slowest = long.MaxValue;
                        for (int o = 0; o < workers; o++)
                        {
                            if (o != back && live[o])
                                slowest = Math.Min(slowest, model[o, k]);
                        }
                        if (slowest != long.MaxValue)
                            model[back, k] = Math.Max(model[back, k], slowest);
                    }
                    live[back] = true;
                    break;
            }

            KeyRange q = RandomRange(rng, keys);
            if (q.IsEmpty)
                continue;
            long expected = long.MaxValue;
            for (int w = 0; w < workers; w++)
            {
                long own = long.MaxValue;
                for (ulong k = q.Begin; k < q.End; k++)
                    own = Math.Min(own, model[w, k]);
                Assert.That(clocks.ClockOf(w, q), Is.EqualTo(own), $"step {step}: clock of worker {w} on {q}");
                if (live[w])
                    expected = Math.Min(expected, own);
            }
            Assert.That(clocks.MinimumClock(q), Is.EqualTo(expected), $"step {step}: minimum on {q}");
            Assert.That(clocks.SegmentCount, Is.LessThanOrEqualTo(DistinctRuns(model, workers, keys)), $"step {step}: equal neighbours are merged");
        }
    }

    private static KeyRange RandomRange(Random rng, int keys)
    {
        int a = rng.Next(keys + 1), b = rng.Next(keys + 1);
        return new KeyRange((ulong)Math.Min(a, b), (ulong)Math.Max(a, b));
    }

    // The fewest segments that can represent the model: one per run of keys with equal clock vectors.
    private static int DistinctRuns(long[,] model, int workers, int keys)
    {
        int runs = 1;
        for (int k = 1; k < keys; k++)
        {
            for (int w = 0; w < workers; w++)
            {
                if (model[w, k] != model[w, k - 1])
                {
                    runs++;
                    break;
                }
            }
        }
        return runs;
    }
}
