namespace ParameterServer.Fast.Core.Memory;

/// <summary>
/// Exact count of the bytes that parameter slabs hold in this process: every commit adds, every
/// free subtracts. Metrics and the memory-per-key benchmark read it.
/// </summary>
public static class MemoryAccounting
{
    private static long s_bytesHeld;
    private static long s_slabCount;

    public static long BytesHeld => Volatile.Read(ref s_bytesHeld);

    public static long SlabCount => Volatile.Read(ref s_slabCount);

    internal static void Add(long bytes) => Interlocked.Add(ref s_bytesHeld, bytes);

    internal static void SlabCreated() => Interlocked.Increment(ref s_slabCount);

    internal static void SlabFreed() => Interlocked.Decrement(ref s_slabCount);
}
