using System.Diagnostics.CodeAnalysis;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Keys;
using ParameterServer.Fast.Codec.Values;

namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// The receiving side of one connection (one thread; not thread-safe): validates frames and decodes
/// keys and values into buffers the caller rents, through scratch memory that stops growing after
/// warm-up. Bad bytes throw <see cref="ProtocolException"/>; a cache miss is a status.
/// </summary>
public sealed class FrameDecoder(FrameLimits limits)
{
    private readonly CodecScratch _scratch = new();

    public FrameDecoder() : this(FrameLimits.Default) { }

    public FrameLimits Limits { get; } = limits;

    /// <summary>Validates the frame at the start of <paramref name="bytes"/> (see <see cref="FrameReader.Read"/>).</summary>
    public Frame Read(ReadOnlySpan<byte> bytes) => FrameReader.Read(bytes, Limits);

    /// <summary>
    /// Resolves the frame's keys. Full lists and ranges decode into <paramref name="destination"/>
    /// (at least <see cref="Frame.KeyCount"/> long); a cached list comes from <paramref name="cache"/>
    /// (then <paramref name="keys"/> points into the cache, valid until it next changes). A full list
    /// flagged keys-remember is remembered in <paramref name="cache"/>.
    /// </summary>
    public KeyResolution DecodeKeys(in Frame frame, Span<ulong> destination, KeyCache? cache, out ReadOnlySpan<ulong> keys)
    {
        keys = default;
        int n = frame.KeyCount;
        if (n == 0)
            return KeyResolution.None;
        if (frame.HasCachedKeys)
            return cache is not null && cache.TryGet(frame.KeySignature, n, out keys) ? KeyResolution.CacheHit : KeyResolution.CacheMiss;
        if (destination.Length < n)
            ThrowTooShort(nameof(destination), destination.Length, n);
        Span<ulong> target = destination[..n];
        FrameFlags mode = frame.Flags & FrameFlags.KeyModes;
        if (frame.TryGetKeyRange(out Core.Keys.KeyRange range))
        {
            for (int i = 0; i < target.Length; i++)
                target[i] = range.Begin + (ulong)i;
            keys = target;
            return KeyResolution.Range;
        }
        if (mode == FrameFlags.KeysDeltaVarint)
            DeltaVarintKeys.Read(frame.Keys, target);
        else if (mode == FrameFlags.KeysGroupedLz4)
            GroupedKeys.Read(frame.Keys, target, _scratch);
        else
            RawKeys.Read(frame.Keys, target);
        if ((frame.Flags & FrameFlags.KeysRemember) != 0)
            cache?.Remember(target);
        keys = target;
        return KeyResolution.Decoded;
    }

    /// <summary>Decodes every value (LZ4, fp16, bf16 or raw) into the first <see cref="Frame.ValueCount"/> of <paramref name="destination"/>.</summary>
    public static void DecodeValues(in Frame frame, Span<float> destination)
    {
        if (destination.Length < frame.ValueCount)
            ThrowTooShort(nameof(destination), destination.Length, frame.ValueCount);
        ValueSection.Read(frame.Values, frame.Flags, destination[..frame.ValueCount]);
    }

    /// <summary>The UTF-8 message of an Error frame's extras; invalid bytes become U+FFFD, never an exception.</summary>
    public static string ErrorMessage(in Frame frame) => System.Text.Encoding.UTF8.GetString(frame.Extras);

    [DoesNotReturn]
    private static void ThrowTooShort(string name, int length, int needed) =>
        throw new ArgumentException($"{name} holds {length} entries; the frame needs {needed}", name);
}
