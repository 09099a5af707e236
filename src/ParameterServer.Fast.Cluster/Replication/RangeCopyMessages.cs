using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables.Snapshots;

namespace ParameterServer.Fast.Cluster.Replication;

/// <summary>The pieces of a range copy, in the argument field of a RangeRows frame, in the order they travel.</summary>
internal enum RangeRowsPiece : uint
{
    /// <summary>The range, the row shape and the (worker, request id) pairs the source has applied.</summary>
    Begin = 0,
    /// <summary>A block of whole rows: keys, weights, updater state.</summary>
    Rows = 1,
    /// <summary>The number of rows sent, so the receiver can tell that none went missing.</summary>
    End = 2,
}

/// <summary>What the scheduler asks of a range's source: copy it to server <c>Target</c> at <c>Endpoint</c>.</summary>
internal readonly record struct RangeTransferOrder(KeyRange Range, int Target, string Endpoint);

/// <summary>The first piece of a copy: its range, its rows' shape and the source's applied request ids, by worker.</summary>
internal sealed record RangeCopyBegin(KeyRange Range, int Width, int StateCount, IReadOnlyList<(uint Worker, ulong[] Ids)> Applied);

/// <summary>
/// Payloads (extras) of the range-copy frames. A copy is rare and large, so the encoders allocate
/// one array per frame; arrays of keys and floats travel as little-endian bytes in one copy.
/// Every count is checked against the bytes left before it is used.
/// <code>
///   order:  [begin u64][end u64][target i32][endpoint: len i32, UTF-8]
///   begin:  [begin u64][end u64][width i32][states i32][workers i32] then per worker [id u32][n i32][n × id u64]
///   rows:   [n i32][n × key u64][n·width weights f32][per state: n·width f32]
///   end:    [rows u64]
/// </code>
/// </summary>
internal static class RangeCopyMessages
{
    // The largest row a table may have (TableSpec caps width far below this); bounds a peer's claim.
    private const int MaxWidth = 1 << 20;

    public static byte[] EncodeOrder(RangeTransferOrder order)
    {
        var w = new PayloadWriter();
        w.U64(order.Range.Begin);
        w.U64(order.Range.End);
        w.I32(order.Target);
        w.Str(order.Endpoint);
        return w.Written.ToArray();
    }

    public static RangeTransferOrder DecodeOrder(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "range transfer");
        KeyRange range = ReadRange(ref r, "range transfer");
        int target = r.I32("target");
        string endpoint = r.Str("endpoint");
        r.End();
        return new RangeTransferOrder(range, target, endpoint);
    }

    public static byte[] EncodeBegin(KeyRange range, int width, int stateCount, IReadOnlyList<(uint Worker, ulong[] Ids)> applied)
    {
        var w = new PayloadWriter();
        w.U64(range.Begin);
        w.U64(range.End);
        w.I32(width);
        w.I32(stateCount);
        w.I32(applied.Count);
        foreach ((uint worker, ulong[] ids) in applied)
        {
            w.U32(worker);
            w.I32(ids.Length);
            foreach (ulong id in ids)
                w.U64(id);
        }
        return w.Written.ToArray();
    }

    public static RangeCopyBegin DecodeBegin(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "range copy begin");
        KeyRange range = ReadRange(ref r, "range copy begin");
        int width = r.I32("width");
        int states = r.I32("state count");
        if (width is < 1 or > MaxWidth || states is < 0 or > 4)
            throw new ProtocolException($"range copy begin: width {width} or state count {states} out of range");
        int workers = r.Count("workers", 8);
        var applied = new List<(uint, ulong[])>(workers);
        for (int i = 0; i < workers; i++)
        {
            uint worker = r.U32("worker");
            ulong[] ids = new ulong[r.Count("request ids", 8)];
            for (int k = 0; k < ids.Length; k++)
                ids[k] = r.U64("request id");
            applied.Add((worker, ids));
        }
        r.End();
        return new RangeCopyBegin(range, width, states, applied);
    }

    public static byte[] EncodeRows(RowBlock block)
    {
        int n = block.Count, floats = n * block.Width;
        byte[] data = new byte[4 + 8 * n + 4 * floats * (1 + block.StateCount)];
        BinaryPrimitives.WriteInt32LittleEndian(data, n);
        int at = 4;
        at += Put(MemoryMarshal.AsBytes((ReadOnlySpan<ulong>)block.Keys), data, at);
        at += Put(MemoryMarshal.AsBytes((ReadOnlySpan<float>)block.Weights), data, at);
        for (int s = 0; s < block.StateCount; s++)
            at += Put(MemoryMarshal.AsBytes((ReadOnlySpan<float>)block.State(s)), data, at);
        return data;
    }

    /// <summary>The row count of a rows piece, checked against <paramref name="max"/>.</summary>
    public static int RowCount(ReadOnlySpan<byte> data, int max)
    {
        if (data.Length < 4)
            throw new ProtocolException($"range copy rows: {data.Length} bytes, too short for the row count");
        int n = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (n < 0 || n > max)
            throw new ProtocolException($"range copy rows: {n} rows in one piece; at most {max} are sent");
        return n;
    }

    /// <summary>Decodes a block of rows into <paramref name="into"/> (shaped for the receiving table), checking every key lies in <paramref name="range"/>.</summary>
    public static void DecodeRows(ReadOnlySpan<byte> data, RowBlock into, KeyRange range)
    {
        if (data.Length < 4)
            throw new ProtocolException($"range copy rows: {data.Length} bytes, too short for the row count");
        int n = BinaryPrimitives.ReadInt32LittleEndian(data);
        long rowBytes = 8L + 4L * into.Width * (1 + into.StateCount);
        if (n < 0 || n > into.Capacity || 4 + n * rowBytes != data.Length)
            throw new ProtocolException($"range copy rows: {n} rows of width {into.Width} with {into.StateCount} state values need {4 + n * rowBytes} bytes (at most {into.Capacity} rows), the frame has {data.Length}");
        into.SetCount(n);
        int at = 4;
        at += Take(data, at, MemoryMarshal.AsBytes(into.Keys));
        at += Take(data, at, MemoryMarshal.AsBytes(into.Weights));
        for (int s = 0; s < into.StateCount; s++)
            at += Take(data, at, MemoryMarshal.AsBytes(into.State(s)));
        foreach (ulong key in into.Keys)
        {
            if (!range.Contains(key))
                throw new ProtocolException($"range copy rows: key {key} is outside the range {range} being copied");
        }
    }

    public static byte[] EncodeEnd(long rows)
    {
        byte[] data = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(data, rows);
        return data;
    }

    public static long DecodeEnd(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "range copy end");
        long rows = r.I64("rows");
        r.End();
        if (rows < 0)
            throw new ProtocolException($"range copy end: negative row count {rows}");
        return rows;
    }

    private static KeyRange ReadRange(ref PayloadReader r, string message)
    {
        ulong begin = r.U64("range begin"), end = r.U64("range end");
        if (end <= begin)
            throw new ProtocolException($"{message}: empty or inverted range [{begin}, {end})");
        return new KeyRange(begin, end);
    }

    // The wire is little-endian, as the frames' raw value sections are.
    private static int Put(ReadOnlySpan<byte> source, byte[] data, int at)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("range copies are encoded for little-endian hosts");
        source.CopyTo(data.AsSpan(at));
        return source.Length;
    }

    private static int Take(ReadOnlySpan<byte> data, int at, Span<byte> target)
    {
        data.Slice(at, target.Length).CopyTo(target);
        return target.Length;
    }
}
