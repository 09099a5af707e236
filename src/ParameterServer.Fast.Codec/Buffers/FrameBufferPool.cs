using System.Numerics;
using Microsoft.Extensions.ObjectPool;

namespace ParameterServer.Fast.Codec.Buffers;

/// <summary>
/// Pinned frame buffers in power-of-two size classes from 4 KiB (a page; a heartbeat or an ack)
/// to 1 GiB. Thread-safe. Each class keeps up to <c>retainedPerClass</c> buffers, so steady traffic
/// rents and returns the same few and allocates nothing; a burst above that is collected normally.
/// </summary>
public sealed class FrameBufferPool
{
    private const int MinShift = 12;
    private const int MaxShift = 30;

    private readonly ObjectPool<PinnedBuffer>[] _classes;

    public FrameBufferPool(int retainedPerClass = 16)
    {
        _classes = new ObjectPool<PinnedBuffer>[MaxShift - MinShift + 1];
        for (int i = 0; i < _classes.Length; i++)
            _classes[i] = new DefaultObjectPool<PinnedBuffer>(new Policy(this, 1 << (MinShift + i)), retainedPerClass);
    }

    public static FrameBufferPool Shared { get; } = new();

    /// <summary>A buffer of at least <paramref name="minimumBytes"/> (claim), to be disposed after commit and send.</summary>
    public PinnedBuffer Rent(long minimumBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minimumBytes, 1L << MaxShift);
        int shift = Math.Max(MinShift, 64 - BitOperations.LeadingZeroCount((ulong)Math.Max(1, minimumBytes - 1)));
        return _classes[shift - MinShift].Get();
    }

    internal void Return(PinnedBuffer buffer)
    {
        int shift = BitOperations.Log2((uint)buffer.Capacity);
        _classes[shift - MinShift].Return(buffer);
    }

    private sealed class Policy(FrameBufferPool pool, int size) : IPooledObjectPolicy<PinnedBuffer>
    {
        public PinnedBuffer Create() => new(size, pool);

        public bool Return(PinnedBuffer obj) => true;
    }
}
