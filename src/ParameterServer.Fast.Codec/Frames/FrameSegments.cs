namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// A committed frame as scatter-gather segments, in wire order: <see cref="Head"/> (header and keys,
/// in the claimed buffer), <see cref="Values"/> (the caller's raw float32 memory, never copied) and
/// <see cref="Tail"/> (extras, in the claimed buffer). A transport sends them with one writev or
/// copies them straight into a shared-memory ring; the CRC, when present, already covers all three.
/// </summary>
public readonly ref struct FrameSegments(ReadOnlySpan<byte> head, ReadOnlySpan<byte> values, ReadOnlySpan<byte> tail)
{
    public ReadOnlySpan<byte> Head { get; } = head;

    public ReadOnlySpan<byte> Values { get; } = values;

    public ReadOnlySpan<byte> Tail { get; } = tail;

    public int Length => Head.Length + Values.Length + Tail.Length;

    /// <summary>Joins the segments (for tests and transports without gather).</summary>
    public int CopyTo(Span<byte> destination)
    {
        Head.CopyTo(destination);
        Values.CopyTo(destination[Head.Length..]);
        Tail.CopyTo(destination[(Head.Length + Values.Length)..]);
        return Length;
    }
}
