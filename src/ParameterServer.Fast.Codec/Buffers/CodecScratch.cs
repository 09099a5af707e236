namespace ParameterServer.Fast.Codec.Buffers;

/// <summary>
/// Working memory of one encoder or decoder (one per connection thread; not thread-safe): byte
/// planes of grouped keys, quantised values before LZ4. It grows to the largest frame seen and then
/// stays, so after warm-up a frame allocates nothing.
/// </summary>
public sealed class CodecScratch
{
    private byte[] _bytes = [];

    /// <summary>A span of exactly <paramref name="length"/> bytes, valid until the next call.</summary>
    public Span<byte> Bytes(int length)
    {
        if (_bytes.Length < length)
            _bytes = GC.AllocateUninitializedArray<byte>(Math.Max(length, Math.Min(2 * _bytes.Length, Array.MaxLength)), pinned: true);
        return _bytes.AsSpan(0, length);
    }
}
