namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// One frame as up to four pieces of memory sent back to back (a header, keys, values, extras),
/// so large value sections go out from where they are, never copied just to add a header.
/// </summary>
public readonly struct FrameSegments
{
    public FrameSegments(ReadOnlyMemory<byte> first, ReadOnlyMemory<byte> second = default,
        ReadOnlyMemory<byte> third = default, ReadOnlyMemory<byte> fourth = default)
    {
        First = first;
        Second = second;
        Third = third;
        Fourth = fourth;
    }

    public ReadOnlyMemory<byte> First { get; }
    public ReadOnlyMemory<byte> Second { get; }
    public ReadOnlyMemory<byte> Third { get; }
    public ReadOnlyMemory<byte> Fourth { get; }

    public int Count => Fourth.IsEmpty ? Third.IsEmpty ? Second.IsEmpty ? 1 : 2 : 3 : 4;

    public long Length => (long)First.Length + Second.Length + Third.Length + Fourth.Length;

    public ReadOnlyMemory<byte> this[int index] => index switch
    {
        0 => First,
        1 => Second,
        2 => Third,
        3 => Fourth,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public static implicit operator FrameSegments(ReadOnlyMemory<byte> single) => new(single);

    public static implicit operator FrameSegments(Memory<byte> single) => new(single);

    public static implicit operator FrameSegments(byte[] single) => new(single);

    /// <summary>Copies every segment, in order, into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<byte> destination)
    {
        int offset = 0;
        for (int i = 0; i < Count; i++)
        {
            ReadOnlySpan<byte> s = this[i].Span;
            s.CopyTo(destination[offset..]);
            offset += s.Length;
        }
    }
}
