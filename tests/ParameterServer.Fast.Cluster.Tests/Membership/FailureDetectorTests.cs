using ParameterServer.Fast.Cluster.Membership;

namespace ParameterServer.Fast.Cluster.Tests.Membership;

public class FailureDetectorTests
{
    /// <summary>A clock that moves only when told to.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }

    [Test]
    public void ANodeIsDeadOnlyAfterTheTimeoutOfSilence()
    {
        var time = new ManualTime();
        var detector = new FailureDetector<string>(time, TimeSpan.FromSeconds(1));
        detector.Heard("a");
        detector.Heard("b");
        var dead = new List<string>();
        time.Advance(TimeSpan.FromMilliseconds(900));
        detector.Heard("b");
        detector.CollectDead(dead);
        Assert.That(dead, Is.Empty);
        time.Advance(TimeSpan.FromMilliseconds(200));
        detector.CollectDead(dead);
        Assert.That(dead, Is.EqualTo(new[] { "a" }));
        Assert.That(detector.Count, Is.EqualTo(1), "a dead node is reported once");
        time.Advance(TimeSpan.FromSeconds(5));
        dead.Clear();
        detector.CollectDead(dead);
        Assert.That(dead, Is.EqualTo(new[] { "b" }));
    }

    [Test]
    public void ForgottenNodesAreNeverReported()
    {
        var time = new ManualTime();
        var detector = new FailureDetector<int>(time, TimeSpan.FromSeconds(1));
        detector.Heard(1);
        detector.Forget(1);
        time.Advance(TimeSpan.FromSeconds(10));
        var dead = new List<int>();
        detector.CollectDead(dead);
        Assert.That(dead, Is.Empty);
    }

    [Test]
    public void ANonPositiveTimeoutIsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new FailureDetector<int>(TimeProvider.System, TimeSpan.Zero));
}
