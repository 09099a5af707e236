using System.Buffers;

namespace ParameterServer.Fast.Core.Memory;

/// <summary>
/// A slab's committed bytes as <see cref="Memory{T}"/>, so a transport can be handed rows to send
/// from where they are (a gather segment) instead of a copy. The memory is the slab's: valid only
/// while the slab lives and until it is written again, so whoever sends from it must finish the
/// send first (a synchronous send). Up to 2 GiB − 1 bytes, the reach of a <see cref="Memory{T}"/>.
/// </summary>
internal sealed unsafe class SlabMemory(byte* pointer, int length) : MemoryManager<byte>
{
    public int Length => length;

    public override Span<byte> GetSpan() => new(pointer, length);

    // Slab memory never moves: pinning is the pointer itself.
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)length, nameof(elementIndex));
        return new MemoryHandle(pointer + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
