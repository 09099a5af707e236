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
/// RangeRows frames: begin, rows a block at a time, end. It runs within one step of the server's
/// inbox, so no update lands between the rows it reads; the caller registers the new member as
/// a joiner in that same step, so every later update follows the rows on the same connection.
/// </summary>
internal static class RangeSnapshot
{
    /// <summary>Sends the copy; returns the rows sent. Needs the whole range held here.</summary>
    /// <param name="exported">What of <paramref name="applied"/> earlier copies from here already gave this peer (updated).</param>
    public static long Send(IConnection peer, uint sender, ulong transferId, ServerTable table, KeyRange range, AppliedRequests applied, Dictionary<uint, long> exported)
    {
        table.CheckHeld(range);
        Table shape = table.Parts.First(p => !p.Range.Intersect(range).IsEmpty).Table;
        FrameHeader Header(RangeRowsPiece piece) => new(MessageType.RangeRows, table.Layout.Id, sender, transferId, 0, (uint)piece);
        // The applied ids go first: the receiver must know them before any update forwarded after
        // the copy arrives, or a retry of an update already in the rows would be applied again.
        _ = FrameOut.SendControl(peer, Header(RangeRowsPiece.Begin), RangeCopyMessages.EncodeBegin(range, shape.Width, shape.Updater.StateCount, applied.ExportSince(exported)));
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
                _ = FrameOut.SendControl(peer, Header(RangeRowsPiece.Rows), RangeCopyMessages.EncodeRows(send));
                rows += send.Count;
            }
        }
        _ = FrameOut.SendControl(peer, Header(RangeRowsPiece.End), RangeCopyMessages.EncodeEnd(rows));
        return rows;
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
