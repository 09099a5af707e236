using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Core.Tests.Keys;

public class KeyRangeTests
{
    [Test]
    public void ContainsIsHalfOpen()
    {
        var r = new KeyRange(10, 20);
        Assert.That(r.Contains(10), Is.True);
        Assert.That(r.Contains(19), Is.True);
        Assert.That(r.Contains(20), Is.False);
        Assert.That(r.Contains(9), Is.False);
        Assert.That(r.Size, Is.EqualTo(10UL));
    }

    [Test]
    public void IntersectionAndOverlap()
    {
        var a = new KeyRange(0, 100);
        var b = new KeyRange(50, 150);
        Assert.That(a.Intersect(b), Is.EqualTo(new KeyRange(50, 100)));
        Assert.That(a.Overlaps(b), Is.True);
        Assert.That(a.Overlaps(new KeyRange(100, 200)), Is.False);
        Assert.That(a.Intersect(new KeyRange(200, 300)).IsEmpty, Is.True);
    }

    [Test]
    public void SplitTilesTheRangeIncludingTheWholeKeySpace()
    {
        foreach (KeyRange range in new[] { new KeyRange(0, 10), new KeyRange(5, 1_000_003), KeyRange.All })
        {
            foreach (int parts in new[] { 1, 2, 3, 7, 64 })
            {
                KeyRange[] split = range.Split(parts);
                Assert.That(split, Has.Length.EqualTo(parts));
                Assert.That(split[0].Begin, Is.EqualTo(range.Begin));
                Assert.That(split[^1].End, Is.EqualTo(range.End));
                for (int i = 1; i < parts; i++)
                    Assert.That(split[i].Begin, Is.EqualTo(split[i - 1].End));
            }
        }
    }

    [Test]
    public void AnEndBeforeTheBeginIsRejected() =>
        Assert.Throws<ArgumentException>(() => _ = new KeyRange(5, 4));
}
