using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Tables.Snapshots;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Replication;

/// <summary>
/// The source's half of a range copy: every row of one range of a table (weights and updater
/// state) and the (worker, request id) pairs this server has applied, sent to the new member as
/// RangeRows frames: begin, rows a block at a time, end. <see cref="Take"/> runs within one step of
/// the server's inbox, so no update lands between the rows it reads; the caller registers the new
/// member as a joiner in that same step and holds every later update for it until the frames are
/// sent (<see cref="SendAsync"/>, off the inbox: a large copy sent from the inbox could block it
/// on a full socket while the peer's inbox blocks the same way on ours), so the updates follow the
/// rows on the same connection.
/// </summary>
internal static class RangeSnapshot
{
    /// <summary>The copy's frames, in order, and its rows. Needs the whole range held here.</summary>
    public static (List<(FrameHeader Header, byte[] Extras)> Frames, long Rows) Take(uint sender, ulong transferId, ServerTable table, KeyRange range, AppliedRequests applied)
    {
        var frames = new List<(FrameHeader, byte[])>();
        table.CheckHeld(range);
        Table shape = table.Parts.First(p => !p.Range.Intersect(range).IsEmpty).Table;
        FrameHeader Header(RangeRowsPiece piece) => new(MessageType.RangeRows, table.Layout.Id, sender, transferId, 0, (uint)piece);
        // The applied ids go first: the receiver must know them before any update forwarded after
        // the copy arrives, or a retry of an update already in the rows would be applied again.
        frames.Add((Header(RangeRowsPiece.Begin), RangeCopyMessages.EncodeBegin(range, shape.Width, shape.Updater.StateCount, applied.ExportFor(table.Layout.Id, range))));
        long rows = 0;
        foreach ((KeyRange partRange, Table part) in table.Parts)
        {
            if (partRange.Intersect(range).IsEmpty)
                continue;
            TableRowReader reader = part.ExportRows();
            RowBlock block = BlockFor(part);
            RowBlock? kept = range.Contains(partRange) ? null : BlockFor(part);
            while (reader.Read(block) > 0)
            {
                RowBlock send = kept is null ? block : Within(block, range, kept);
                if (send.Count == 0)
                    continue;
                frames.Add((Header(RangeRowsPiece.Rows), RangeCopyMessages.EncodeRows(send)));
                rows += send.Count;
            }
        }
        frames.Add((Header(RangeRowsPiece.End), RangeCopyMessages.EncodeEnd(rows)));
        return (frames, rows);
    }

    /// <summary>Sends the frames in order; false if the connection ended first.</summary>
    public static async Task<bool> SendAsync(IConnection peer, List<(FrameHeader Header, byte[] Extras)> frames)
    {
        try
        {
            foreach ((FrameHeader header, byte[] extras) in frames)
                await FrameOut.SendControl(peer, header, extras).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is ConnectionClosedException or IOException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Rows per RangeRows frame at most: a RowBlock's worth (256 KiB of floats per array).</summary>
    public static int MaxRows(int width) => Math.Max(1, RowBlock.DefaultFloats / width);

    // A block no larger than the part: most ranges are small, and a copy runs per range.
    private static RowBlock BlockFor(Table part) =>
        new(part.Width, part.Updater.StateCount, (int)Math.Clamp(part.RowCount, 1, MaxRows(part.Width)));

    // The rows of a part wider than the range that fall inside it.
    private static RowBlock Within(RowBlock block, KeyRange range, RowBlock kept)
    {
        int count = 0;
        foreach (ulong key in block.Keys)
        {
            if (range.Contains(key))
                count++;
        }
        kept.SetCount(count);
        int width = block.Width, at = 0;
        for (int i = 0; i < block.Count; i++)
        {
            if (!range.Contains(block.Keys[i]))
                continue;
            kept.Keys[at] = block.Keys[i];
            block.Weights.Slice(i * width, width).CopyTo(kept.Weights.Slice(at * width, width));
            for (int s = 0; s < block.StateCount; s++)
                block.State(s).Slice(i * width, width).CopyTo(kept.State(s).Slice(at * width, width));
            at++;
        }
        return kept;
    }
}
