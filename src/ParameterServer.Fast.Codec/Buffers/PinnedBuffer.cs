namespace ParameterServer.Fast.Codec.Buffers;

/// <summary>
/// A frame buffer on the pinned object heap: its address never moves, so a transport can hand it
/// to writev, a shared-memory copy or RDMA registration while managed code writes into it.
/// Return it with <see cref="Dispose"/> (to its pool) once the frame is sent or consumed.
/// </summary>
public sealed class PinnedBuffer : IDisposable
{
    private readonly FrameBufferPool? _pool;

    internal PinnedBuffer(int capacity, FrameBufferPool? pool)
    {
        Array = GC.AllocateUninitializedArray<byte>(capacity, pinned: true);
        _pool = pool;
    }

    /// <summary>The pinned array; its length is the size class, at least what was asked.</summary>
    public byte[] Array { get; }

    public int Capacity => Array.Length;

    public Span<byte> Span => Array;

    public Memory<byte> Memory => Array;

    public void Dispose() => _pool?.Return(this);
}
