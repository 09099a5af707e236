using System.Diagnostics;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Dense range pulls answered from the table's slab itself: over a connection whose device reads
/// registered memory (<see cref="IRegisteredMemorySender"/>, RDMA), the rows go out as a gather
/// segment between the header and the extras, with no copy into a frame buffer. The send is
/// synchronous and returns once the rows have been read, so the next request of this inbox may
/// change them at once; other transports keep the copy.
/// </summary>
public sealed partial class ServerNode
{
    // 64 KiB of values: below this the copy into a frame buffer (~5 µs) costs less than waiting
    // for the completion of a write of its own.
    private const int InPlaceAnswerBytes = 64 * 1024;

    private bool TryAnswerFromSlab(ServerTable table, IConnection connection, FrameHeader header, KeyRange range, int count,
        long queuedTicks, long gateTicks, long started)
    {
        if (connection is not IRegisteredMemorySender sender || (long)count * sizeof(float) < InPlaceAnswerBytes)
            return false;
        // The rows are contiguous in one slab only when one dense part holds the whole range.
        DenseTable? holder = null;
        foreach ((KeyRange part, Table t) in table.Parts)
        {
            if (part.Contains(range) && t is DenseTable dense)
                holder = dense;
        }
        if (holder is null || !holder.TryGetRangeBytes(range, out ReadOnlyMemory<byte> rows))
            return false;
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(FrameLayout.MaxFrameLength(0, 0, ServerTiming.Size));
        try
        {
            var writer = FrameWriter.Claim(buffer.Span, header);
            writer.AttachValues(MemoryMarshal.Cast<byte, float>(rows.Span));
            Span<byte> extras = stackalloc byte[ServerTiming.Size];
            new ServerTiming(ServerTiming.Micros(queuedTicks + Stopwatch.GetTimestamp() - started), ServerTiming.Micros(gateTicks)).WriteTo(extras);
            writer.WriteExtras(extras);
            FrameStatus status = writer.CommitSegments(false, out Codec.Frames.FrameSegments segments);
            if (status != FrameStatus.Ok)
                throw new InvalidOperationException($"frame could not be encoded: {status}");
            int head = segments.Head.Length, tail = segments.Tail.Length;
            NoteAnswered(segments.Length, gateTicks, started);
            // Returns once the device has read the rows (or the connection is gone): a closed
            // connection needs no answer, as with the copying send.
            sender.SendInPlace(new Transport.Connections.FrameSegments(buffer.Memory[..head], rows, buffer.Memory.Slice(head, tail)));
        }
        finally
        {
            buffer.Dispose();
        }
        return true;
    }

    private void NoteAnswered(int length, long gateTicks, long started)
    {
        PullsAnswered++;
        _metrics?.RequestHandledSince(Operations.RequestKind.Pull, started);
        if (gateTicks > 0)
            _metrics?.Waited(Operations.WaitCause.Consistency, gateTicks / (double)Stopwatch.Frequency);
        _metrics?.Traffic(Operations.TrafficDirection.Sent, length);
    }
}
