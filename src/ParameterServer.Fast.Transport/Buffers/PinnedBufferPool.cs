using System.Collections.Concurrent;
using System.Numerics;

namespace ParameterServer.Fast.Transport.Buffers;

/// <summary>
/// Pinned byte arrays (on the pinned object heap: the GC never moves them, so a socket or a NIC
/// can use them in place) pooled by power-of-two size class. Renting after warm-up allocates
/// nothing; each class keeps at most a few idle arrays so a burst does not pin memory forever.
/// </summary>
public sealed class PinnedBufferPool
{
    // 4 KiB .. 1 GiB in 19 classes.
    private const int MinimumShift = 12;
    private const int MaximumShift = 30;
    private readonly ConcurrentBag<byte[]>[] _classes;
    private readonly int _keepPerClass;

    public PinnedBufferPool(int keepPerClass = 16)
    {
        _keepPerClass = keepPerClass;
        _classes = new ConcurrentBag<byte[]>[MaximumShift - MinimumShift + 1];
        for (int i = 0; i < _classes.Length; i++)
            _classes[i] = [];
    }

    public static PinnedBufferPool Shared { get; } = new();

    public const int MaximumLength = 1 << MaximumShift;

    /// <summary>A pinned array of at least <paramref name="minimumLength"/> bytes (its length is a power of two).</summary>
    public byte[] Rent(int minimumLength)
    {
        if ((uint)minimumLength > MaximumLength)
            throw new ArgumentOutOfRangeException(nameof(minimumLength), minimumLength, $"pinned buffers hold at most {MaximumLength} bytes");
        int shift = Math.Max(MinimumShift, BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, minimumLength))));
        if (_classes[shift - MinimumShift].TryTake(out byte[]? buffer))
            return buffer;
        return GC.AllocateUninitializedArray<byte>(1 << shift, pinned: true);
    }

    /// <summary>Gives a rented array back; arrays not from this pool are ignored.</summary>
    public void Return(byte[] buffer)
    {
        if (!BitOperations.IsPow2(buffer.Length))
            return;
        int shift = BitOperations.Log2((uint)buffer.Length);
        if (shift is < MinimumShift or > MaximumShift)
            return;
        ConcurrentBag<byte[]> bag = _classes[shift - MinimumShift];
        if (bag.Count < _keepPerClass)
            bag.Add(buffer);
    }
}
