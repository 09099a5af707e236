namespace ParameterServer.Fast.Codec.Values;

/// <summary>
/// How a sender encodes a values section. LZ4 is kept only when it saves at least
/// <see cref="Lz4MinSaving"/> of the section (default 1/8: below that the receiver's decode time
/// costs more than the bytes saved on a 10 Gb/s link). Quantised sections are LZ4'd the same way.
/// </summary>
public readonly record struct ValueEncoding(ValueQuantization Quantization = ValueQuantization.None, bool Lz4 = false, double Lz4MinSaving = 0.125)
{
    public static ValueEncoding Raw { get; } = new();

    public static ValueEncoding Compressed { get; } = new(Lz4: true);

    /// <summary>Bytes per value on the wire before LZ4.</summary>
    public int ElementSize => Quantization == ValueQuantization.None ? 4 : 2;
}
