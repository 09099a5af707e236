namespace ParameterServer.Fast.Codec.Frames;

/// <summary>What <see cref="FrameDecoder.DecodeKeys"/> found: a data-path status, not an exception.</summary>
public enum KeyResolution
{
    /// <summary>The frame carries no keys.</summary>
    None,
    /// <summary>The keys were decoded into the caller's buffer.</summary>
    Decoded,
    /// <summary>A dense range, expanded into the caller's buffer (or read with <see cref="Frame.TryGetKeyRange"/>).</summary>
    Range,
    /// <summary>Only the signature came and the receiver's cache had the list.</summary>
    CacheHit,
    /// <summary>
    /// Only the signature came and the receiver does not know it: answer with a
    /// <see cref="MessageType.KeyListRequest"/> carrying <see cref="Frame.KeySignature"/>, and drop the values.
    /// </summary>
    CacheMiss,
}
