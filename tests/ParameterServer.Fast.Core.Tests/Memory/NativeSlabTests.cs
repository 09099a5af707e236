using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Tests.Memory;

[NonParallelizable] // the accounting is process-wide
public class NativeSlabTests
{
    [TestCase(100)]
    [TestCase(64 * 1024)]
    [TestCase(10 * 1024 * 1024)]
    public void SlabsAreAlignedZeroedAndAccountedExactly(long bytes)
    {
        long before = MemoryAccounting.BytesHeld;
        var slab = NativeSlab.Allocate(bytes);
        Assert.That((long)slab.Address % NativeSlab.Alignment, Is.EqualTo(0L));
        Assert.That(slab.CommittedBytes, Is.GreaterThanOrEqualTo(bytes));
        Assert.That(MemoryAccounting.BytesHeld - before, Is.EqualTo(slab.CommittedBytes));
        Span<byte> span = slab.AsSpan<byte>(0, (int)bytes);
        Assert.That(span.IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
        span.Fill(0xAB);
        slab.Dispose();
        Assert.That(MemoryAccounting.BytesHeld, Is.EqualTo(before));
        Assert.That(slab.IsDisposed, Is.True);
    }

    [Test]
    public void GrowingNeverMovesWhatIsThere()
    {
        using var slab = NativeSlab.Reserve(64L << 20);
        slab.EnsureCommitted(4096);
        nint first = slab.Address;
        slab.AsSpan<int>(0, 1024).Fill(7);
        slab.EnsureCommitted(40L << 20);
        Assert.That(slab.Address, Is.EqualTo(first));
        Assert.That(slab.AsSpan<int>(0, 1024).ToArray(), Is.All.EqualTo(7));
        Assert.That(slab.AsSpan<byte>((40L << 20) - 1, 1)[0], Is.EqualTo(0));
    }

    [Test]
    public void AccessBeyondTheCommittedBytesIsRejected()
    {
        using var slab = NativeSlab.Reserve(8L << 20);
        slab.EnsureCommitted(100);
        long committed = slab.CommittedBytes;
        Assert.Throws<ArgumentOutOfRangeException>(() => slab.AsSpan<byte>(committed, 1));
        Assert.Throws<InvalidOperationException>(() => slab.EnsureCommitted((8L << 20) + 1));
    }

    [Test]
    public void ADisposedSlabRefusesUse()
    {
        var slab = NativeSlab.Allocate(128);
        slab.Dispose();
        slab.Dispose();
        Assert.Throws<ObjectDisposedException>(() => slab.EnsureCommitted(10));
    }

    [Test]
    public void LockingInMemoryWorksOrSaysWhy()
    {
        try
        {
            using var slab = NativeSlab.Allocate(4L << 20, new SlabOptions(LockInMemory: true));
            Assert.That(slab.CommittedBytes, Is.GreaterThanOrEqualTo(4L << 20));
        }
        catch (InvalidOperationException e)
        {
            Assert.That(e.Message, Does.Contain("memlock"));
        }
    }
}
