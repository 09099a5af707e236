using ParameterServer.Fast.Cluster.Consistency;
using ParameterServer.Fast.Core.Keys;
using Delay = ParameterServer.Fast.Cluster.Consistency.Consistency;

namespace ParameterServer.Fast.Cluster.Tests.Consistency;

public sealed class BoundedDelayGateTests
{
    private static readonly KeyRange Table = new(0, 1000);

    [Test]
    public void APullWithinTheBoundIsAnsweredAtOnce()
    {
        var gate = new BoundedDelayGate<string>(new RangeClocks(Table, workers: 2));

        Assert.That(gate.Admit("c1 τ1", Table, clock: 1, Delay.BoundedDelay(1), now: 0), Is.True);
        Assert.That(gate.Admit("c0 τ0", Table, clock: 0, Delay.Sequential, now: 0), Is.True);
        Assert.That(gate.WaitingCount, Is.Zero);
    }

    [Test]
    public void PullWaitsWhenWorkerIsTooFarAheadAndIsReleasedWhenTheOthersCatchUp()
    {
        var clocks = new RangeClocks(Table, workers: 2);
        var gate = new BoundedDelayGate<string>(clocks);
        var ready = new List<(string Request, long Waited)>();

        Assert.That(gate.Admit("w0 at 3", Table, clock: 3, Delay.BoundedDelay(1), now: 10), Is.False);
        clocks.Advance(0, Table, 3);
        clocks.Advance(1, Table, 1);
        gate.Release(ready, now: 20);
        Assert.That(ready, Is.Empty, "worker 1 at 1 is more than τ = 1 behind clock 3");

        clocks.Advance(1, Table, 2);
        gate.Release(ready, now: 25);
        Assert.That(ready, Is.EqualTo(new[] { ("w0 at 3", 15L) }));
        Assert.That(gate.WaitingCount, Is.Zero);
    }

    [Test]
    public void HeldPullsAreReleasedInTheOrderTheyArrivedOnceReady()
    {
        var clocks = new RangeClocks(Table, workers: 2);
        var gate = new BoundedDelayGate<string>(clocks);
        var ready = new List<(string Request, long Waited)>();
        clocks.Advance(0, Table, 5);

        Assert.That(gate.Admit("needs 2", Table, clock: 2, Delay.Sequential, now: 0), Is.False);
        Assert.That(gate.Admit("needs 4", Table, clock: 4, Delay.Sequential, now: 1), Is.False);
        Assert.That(gate.Admit("needs 1", Table, clock: 1, Delay.Sequential, now: 2), Is.False);
        Assert.That(gate.Admit("needs 3", Table, clock: 5, Delay.BoundedDelay(2), now: 3), Is.False);

        clocks.Advance(1, Table, 2);
        gate.Release(ready, now: 10);
        Assert.That(ready.Select(r => r.Request), Is.EqualTo(new[] { "needs 2", "needs 1" }));

        ready.Clear();
        clocks.Advance(1, Table, 4);
        gate.Release(ready, now: 20);
        Assert.That(ready.Select(r => r.Request), Is.EqualTo(new[] { "needs 4", "needs 3" }));
        Assert.That(gate.WaitingCount, Is.Zero);
    }

    [Test]
    public void RemovingTheSlowWorkerReleasesThePullsItHeld()
    {
        var clocks = new RangeClocks(Table, workers: 3);
        var gate = new BoundedDelayGate<int>(clocks);
        var ready = new List<(int Request, long Waited)>();
        clocks.Advance(0, Table, 10);
        clocks.Advance(1, Table, 10);

        Assert.That(gate.Admit(7, Table, clock: 10, Delay.Sequential, now: 0), Is.False);
        gate.Release(ready, now: 1);
        Assert.That(ready, Is.Empty);

        clocks.RemoveWorker(2);
        gate.Release(ready, now: 2);
        Assert.That(ready.Select(r => r.Request), Is.EqualTo(new[] { 7 }));
    }

    [Test]
    public void APullWaitsOnlyForTheClocksOfItsOwnRange()
    {
        var clocks = new RangeClocks(Table, workers: 2);
        var gate = new BoundedDelayGate<string>(clocks);
        clocks.Advance(0, Table, 4);
        clocks.Advance(1, new KeyRange(0, 500), 4);

        Assert.That(gate.Admit("low half", new KeyRange(0, 500), clock: 4, Delay.Sequential, now: 0), Is.True);
        Assert.That(gate.Admit("whole table", Table, clock: 4, Delay.Sequential, now: 0), Is.False);
    }

    [Test]
    public void EventualNeverWaits()
    {
        var clocks = new RangeClocks(Table, workers: 2);
        var gate = new BoundedDelayGate<string>(clocks);

        Assert.That(gate.Admit("far ahead", Table, clock: long.MaxValue, Delay.Eventual, now: 0), Is.True);
        Assert.That(gate.IsReady(Table, 1_000_000, Delay.Eventual), Is.True);
        Assert.That(gate.WaitingCount, Is.Zero);
    }

    [Test]
    public void TheDelayBoundCannotBeNegative() =>
        Assert.That(() => Delay.BoundedDelay(-1), Throws.InstanceOf<ArgumentOutOfRangeException>());
}
