using System.Diagnostics.CodeAnalysis;

namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// A frame from a peer or a file is malformed. The only exception decoding throws for bad bytes:
/// the message names the field and its value; the transport closes that one connection and logs it.
/// </summary>
public sealed class ProtocolException : Exception
{
    public ProtocolException(string field, ulong value, string reason)
        : base($"bad frame: {field} = {value}: {reason}")
    {
        Field = field;
        Value = value;
    }

    public ProtocolException(string message) : base(message) => Field = "";

    public ProtocolException(string message, Exception inner) : base(message, inner) => Field = "";

    public ProtocolException() : this("bad frame") { }

    /// <summary>The header field or section that was wrong ("keys length", "flags" …).</summary>
    public string Field { get; }

    public ulong Value { get; }

    /// <summary>Cold-path throw helper: keeps the decoders' hot loops small and inlinable.</summary>
    [DoesNotReturn]
    internal static void Throw(string field, ulong value, string reason) => throw new ProtocolException(field, value, reason);
}
