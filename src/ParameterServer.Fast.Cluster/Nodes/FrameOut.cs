using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Values;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>Builds a frame in a pooled pinned buffer and sends it; the buffer goes back once sent.</summary>
internal static class FrameOut
{
    public static ValueTask SendControl(IConnection connection, in FrameHeader header, ReadOnlySpan<byte> extras = default)
    {
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(FrameLayout.MaxFrameLength(0, 0, extras.Length));
        var writer = FrameWriter.Claim(buffer.Span, header);
        if (!extras.IsEmpty)
            writer.WriteExtras(extras);
        return Send(connection, buffer, writer.Commit());
    }

    public static ValueTask SendError(IConnection connection, uint sender, ulong requestId, uint tableId, string message) =>
        SendControl(connection, new FrameHeader(MessageType.Error, tableId, sender, requestId), System.Text.Encoding.UTF8.GetBytes(message));

    /// <summary>"Cache miss: send the full list": the signature of the list this receiver does not hold.</summary>
    public static ValueTask SendKeyListRequest(IConnection connection, in FrameHeader header, Codec.Keys.KeySignature signature, int keyCount)
    {
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(FrameLayout.MaxFrameLength(2, 0));
        var writer = FrameWriter.Claim(buffer.Span, header);
        writer.WriteCachedKeys(signature, keyCount);
        return Send(connection, buffer, writer.Commit());
    }

    /// <summary>A frame with keys (or a range) and values.</summary>
    public static ValueTask SendData(IConnection connection, in FrameHeader header, ReadOnlySpan<ulong> keys, KeyRangeOrList range, ReadOnlySpan<float> values, in ValueEncoding encoding) =>
        SendData(connection, header, keys, range, values, encoding, null, out _);

    /// <summary>
    /// As above, with <paramref name="peerKeys"/> (what the peer caches: a list it holds travels as
    /// its signature); <paramref name="length"/> is the encoded frame's size in bytes.
    /// </summary>
    public static ValueTask SendData(IConnection connection, in FrameHeader header, ReadOnlySpan<ulong> keys, KeyRangeOrList range, ReadOnlySpan<float> values,
        in ValueEncoding encoding, Codec.Keys.KeyCache? peerKeys, out int length)
    {
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(FrameLayout.MaxFrameLength(range.IsRange ? 2 : keys.Length, values.Length));
        var writer = FrameWriter.Claim(buffer.Span, header);
        if (range.IsRange)
            writer.WriteKeyRange(range.Begin, range.End);
        else if (!keys.IsEmpty)
            writer.WriteKeys(keys, Codec.Keys.KeyEncodingPolicy.Smallest, peerKeys);
        if (!values.IsEmpty || header.Type is MessageType.Push or MessageType.PullResponse)
            writer.WriteValues(values, encoding);
        length = writer.Commit();
        return Send(connection, buffer, length);
    }

    // 64 KiB: above this a copy of the values costs more than a third gather segment.
    private const int ZeroCopyBytes = 64 * 1024;

    /// <summary>
    /// A data frame whose raw values go out from <paramref name="values"/> itself (a gather segment
    /// between the header+keys and the extras), never copied into the frame buffer. The caller keeps
    /// the memory unchanged until the request is answered, which a worker's ticket guarantees.
    /// </summary>
    public static ValueTask SendDataZeroCopy(IConnection connection, in FrameHeader header, ReadOnlySpan<ulong> keys, KeyRangeOrList range,
        ReadOnlyMemory<float> values, Codec.Keys.KeyCache? peerKeys, out int length)
    {
        // A connection that takes the frame buffer itself (in-process) gets the values copied once,
        // by the encoder, and nothing more: cheaper than gathering them again on its side.
        if (values.Length * sizeof(float) < ZeroCopyBytes || connection is IBufferHandOff)
            return SendData(connection, header, keys, range, values.Span, ValueEncoding.Raw, peerKeys, out length);
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(FrameLayout.MaxFrameLength(range.IsRange ? 2 : keys.Length, 0));
        var writer = FrameWriter.Claim(buffer.Span, header);
        if (range.IsRange)
            writer.WriteKeyRange(range.Begin, range.End);
        else if (!keys.IsEmpty)
            writer.WriteKeys(keys, Codec.Keys.KeyEncodingPolicy.Smallest, peerKeys);
        writer.AttachValues(values.Span);
        FrameStatus status = writer.CommitSegments(false, out Codec.Frames.FrameSegments segments);
        if (status != FrameStatus.Ok)
        {
            buffer.Dispose();
            throw new InvalidOperationException($"frame could not be encoded: {status}");
        }
        int head = segments.Head.Length, tail = segments.Tail.Length;
        length = segments.Length;
        var gather = new Transport.Connections.FrameSegments(buffer.Memory[..head], ByteViews.Of(values), buffer.Memory.Slice(head, tail));
        return SendSegments(connection, buffer, gather);
    }

    private static async ValueTask SendSegments(IConnection connection, PinnedBuffer buffer, Transport.Connections.FrameSegments segments)
    {
        try
        {
            await connection.SendAsync(segments).ConfigureAwait(false);
        }
        finally
        {
            buffer.Dispose();
        }
    }

    /// <summary>
    /// Sends the first <paramref name="length"/> bytes of <paramref name="buffer"/> (a negative length
    /// is a <see cref="FrameStatus"/>), then returns the buffer to its pool; a connection that can
    /// take the buffer itself (<see cref="IBufferHandOff"/>) gets it, with no copy.
    /// </summary>
    public static ValueTask Send(IConnection connection, PinnedBuffer buffer, int length)
    {
        if (length >= 0 && connection is IBufferHandOff handOff)
        {
            return handOff.HandOff(buffer, length) == SendStatus.Sent
                ? ValueTask.CompletedTask
                : ValueTask.FromException(new ConnectionClosedException($"{connection.RemoteName} is not connected"));
        }
        return SendCopied(connection, buffer, length);
    }

    private static async ValueTask SendCopied(IConnection connection, PinnedBuffer buffer, int length)
    {
        try
        {
            if (length < 0)
                throw new InvalidOperationException($"frame could not be encoded: {(FrameStatus)length}");
            await connection.SendAsync(buffer.Memory[..length]).ConfigureAwait(false);
        }
        finally
        {
            buffer.Dispose();
        }
    }
}

/// <summary>The keys of a data frame: either a dense range [Begin, End) or the explicit list beside it.</summary>
internal readonly record struct KeyRangeOrList(bool IsRange, ulong Begin, ulong End)
{
    public static KeyRangeOrList List => default;

    public static KeyRangeOrList Range(ulong begin, ulong end) => new(true, begin, end);
}
