namespace ParameterServer.Fast.Codec.Keys;

/// <summary>How <see cref="Frames.FrameWriter.WriteKeys"/> encodes a full key list.</summary>
public enum KeyEncodingPolicy
{
    /// <summary>The smallest of raw, delta + varint and byte-grouped LZ4, chosen per list.</summary>
    Smallest,
    /// <summary>Delta + varint, or raw when that is smaller (never LZ4: the cheapest to encode).</summary>
    DeltaVarint,
    /// <summary>Raw little-endian u64: no work on either side.</summary>
    Raw,
}
