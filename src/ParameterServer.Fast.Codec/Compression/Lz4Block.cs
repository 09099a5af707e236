using K4os.Compression.LZ4;

namespace ParameterServer.Fast.Codec.Compression;

/// <summary>
/// LZ4 blocks (K4os) with the two rules the codec needs: encoding never writes past a budget (so
/// "compress only when it saves enough" costs one attempt and no copy), and decoding must produce
/// exactly the size the header declared, or the frame is bad. K4os decodes with the bounds-checked
/// "safe" decoder: a hostile block cannot make it read or write outside the spans.
/// </summary>
public static class Lz4Block
{
    // LZ4 cannot expand a byte into more than 255 (one literal-length byte per 255 matched bytes),
    // so a block whose declared size exceeds 255 × its length + 16 is rejected before decoding.
    public const int MaxExpansion = 255;

    /// <summary>Compresses into at most <paramref name="target"/>.Length bytes; the size, or -1 when it does not fit.</summary>
    public static int TryEncode(ReadOnlySpan<byte> source, Span<byte> target)
    {
        if (source.IsEmpty || target.IsEmpty)
            return -1;
        int n = LZ4Codec.Encode(source, target, LZ4Level.L00_FAST);
        return n > 0 ? n : -1;
    }

    /// <summary>True when <paramref name="source"/> decodes to exactly <paramref name="target"/>.Length bytes.</summary>
    public static bool TryDecodeExact(ReadOnlySpan<byte> source, Span<byte> target)
    {
        if (target.IsEmpty)
            return source.IsEmpty;
        if (source.IsEmpty || target.Length > ((long)source.Length * MaxExpansion) + 16)
            return false;
        return LZ4Codec.Decode(source, target) == target.Length;
    }
}
