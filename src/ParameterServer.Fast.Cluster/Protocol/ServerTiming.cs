using System.Buffers.Binary;

namespace ParameterServer.Fast.Cluster.Protocol;

/// <summary>
/// Where a request's time went on the server, sent back in the extras of its answer so the worker
/// can break its waiting down by cause: microseconds it queued behind other frames plus the time
/// to apply or read it, and microseconds the bounded-delay gate held it back.
/// </summary>
public readonly record struct ServerTiming(uint ServerMicros, uint ConsistencyMicros)
{
    public const int Size = 8;

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, ServerMicros);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], ConsistencyMicros);
    }

    /// <summary>The timing in an answer's extras; zero when the extras hold none (an older or terse peer).</summary>
    public static ServerTiming ReadFrom(ReadOnlySpan<byte> extras) =>
        extras.Length < Size
            ? default
            : new ServerTiming(BinaryPrimitives.ReadUInt32LittleEndian(extras), BinaryPrimitives.ReadUInt32LittleEndian(extras[4..]));

    public static uint Micros(long ticks) => (uint)Math.Clamp(ticks * 1_000_000 / System.Diagnostics.Stopwatch.Frequency, 0, uint.MaxValue);
}
