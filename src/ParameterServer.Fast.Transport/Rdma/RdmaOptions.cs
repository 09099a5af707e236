using ParameterServer.Fast.Core.Interop;

namespace ParameterServer.Fast.Transport.Rdma;

/// <summary>
/// Sizes of an RDMA connection. The defaults hold ~30 MiB per connection: 256 receive buffers of
/// 8 KiB (2 MiB) for small frames, a 16 MiB region the peer writes large frames into, 8 MiB of
/// staging chunks and a 32 MiB registration budget.
/// </summary>
public sealed record RdmaOptions
{
    /// <summary>Receive buffers posted per connection: the peer's credits (at most 4096).</summary>
    public int RecvSlots { get; init; } = 256;

    /// <summary>Bytes per receive buffer; a frame up to this minus 16 goes as one two-sided message.</summary>
    public int SlotBytes { get; init; } = 8 * 1024;

    /// <summary>The region the peer's RDMA writes land in (a multiple of 64).</summary>
    public long RegionBytes { get; init; } = 16L << 20;

    /// <summary>A large frame goes in writes of up to this many bytes (at most half the region).</summary>
    public int ChunkBytes { get; init; } = 1 << 20;

    /// <summary>Writes in flight per connection, each from its own staging chunk.</summary>
    public int StagingChunks { get; init; } = 8;

    /// <summary>Registration budget of the shim's memory-region cache.</summary>
    public long MrCacheBytes { get; init; } = 32L << 20;

    /// <summary>A device's verbs, or the shim's in-memory fake (tests).</summary>
    public RdmaVerbs Verbs { get; init; } = RdmaVerbs.Device;

    internal int MaxMessageBytes => SlotBytes - RdmaChannel.MessageHeaderBytes;

    internal void Validate()
    {
        if (RecvSlots is < 4 or > 4096 || SlotBytes is < 64 or > 1 << 20 || RegionBytes < 4096 || RegionBytes % 64 != 0
            || ChunkBytes < 64 || ChunkBytes > RegionBytes / 2 || StagingChunks is < 1 or > 1024
            || MrCacheBytes < (long)ChunkBytes * StagingChunks)
            throw new ArgumentException($"RDMA options out of range: {this} (4..4096 slots of 64 B..1 MiB, a region of >= 4 KiB in multiples of 64, chunks of 64 B..half the region, a registration budget >= the staging chunks)");
    }
}
