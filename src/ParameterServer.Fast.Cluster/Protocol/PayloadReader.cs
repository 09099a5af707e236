using System.Buffers.Binary;
using System.Text;
using ParameterServer.Fast.Codec.Frames;

namespace ParameterServer.Fast.Cluster.Protocol;

/// <summary>
/// Reads a control-plane payload from a peer. Every read is bounds-checked and every count is
/// checked against what is left, so a lying peer gets a <see cref="ProtocolException"/> naming the
/// field, never an out-of-range read or a huge allocation.
/// </summary>
internal ref struct PayloadReader(ReadOnlySpan<byte> data, string message)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly int Remaining => _data.Length - _position;

    public byte U8(string field) => Take(1, field)[0];
    public uint U32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));
    public int I32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));
    public ulong U64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));
    public long I64(string field) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, field));
    public float F32(string field) => BinaryPrimitives.ReadSingleLittleEndian(Take(4, field));
    public double F64(string field) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, field));

    public bool Bool(string field) => U8(field) switch
    {
        0 => false,
        1 => true,
        var b => throw new ProtocolException($"{message}: {field} must be 0 or 1, got {b}"),
    };

    /// <summary>A count of items each at least <paramref name="minItemBytes"/> long: bounded by the bytes left.</summary>
    public int Count(string field, int minItemBytes, int max = int.MaxValue)
    {
        int n = I32(field);
        if (n < 0 || n > max || (long)n * Math.Max(1, minItemBytes) > Remaining)
            throw new ProtocolException($"{message}: {field} {n} does not fit the {Remaining} bytes left");
        return n;
    }

    public string Str(string field, int maxBytes = 4096)
    {
        int n = Count(field, 1, maxBytes);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Take(n, field));
        }
        catch (DecoderFallbackException)
        {
            throw new ProtocolException($"{message}: {field} is not valid UTF-8");
        }
    }

    public readonly void End()
    {
        if (Remaining != 0)
            throw new ProtocolException($"{message}: {Remaining} unexpected bytes after the payload");
    }

    private ReadOnlySpan<byte> Take(int n, string field)
    {
        if (n > Remaining)
            throw new ProtocolException($"{message}: truncated at {field} (needs {n} bytes, {Remaining} left)");
        ReadOnlySpan<byte> s = _data.Slice(_position, n);
        _position += n;
        return s;
    }
}
