using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Tables.Snapshots;

namespace ParameterServer.Fast.Cluster.Replication;

/// <summary>
/// The new member's half of a range copy: creates the range's part, records the source's applied
/// request ids, writes the rows in as they come (bypassing the updater), and on the end piece
/// checks that every row arrived. A copy restarted by the scheduler (its source died) has a
/// higher transfer id: it replaces the older one, whose late pieces are then ignored. Rows of an
/// abandoned copy that stay behind are overwritten: the new source holds every key the old one
/// had (it is upstream of it in the chain, and keys are never removed). Owned by the server's inbox.
/// </summary>
internal sealed class RangeCopyReceiver
{
    private sealed class Incoming(ulong transferId, uint table, KeyRange range, Table part)
    {
        public ulong TransferId { get; } = transferId;
        public uint Table { get; } = table;
        public KeyRange Range { get; } = range;
        public Table Part { get; } = part;
        /// <summary>Grown to the largest block that came (at most <see cref="RangeSnapshot.MaxRows"/>).</summary>
        public RowBlock? Block { get; set; }
        public long Rows { get; set; }
    }

    private readonly List<Incoming> _copies = [];
    // Ranges copied (or being copied) here that no map has put this server in the chain of yet:
    // updates forwarded for them by the copy's source are taken.
    private readonly List<(uint Table, KeyRange Range)> _joining = [];

    public bool IsJoining(uint table, KeyRange range)
    {
        foreach ((uint t, KeyRange r) in _joining)
        {
            if (t == table && r == range)
                return true;
        }
        return false;
    }

    /// <summary>Forgets the joined ranges a map settles: this server is in their chain now, or the map lays the table out anew.</summary>
    public void Settle(Placement.RangeMap map, int self)
    {
        if (_joining.Count == 0)
            return;
        _joining.RemoveAll(j =>
        {
            Placement.TableLayout? layout = map.Table(j.Table);
            if (layout is null)
                return true;
            Placement.RangeAssignment part = layout.Ranges[layout.PartOf(j.Range.Begin)];
            return part.Range != j.Range || part.Chain.Contains(self);
        });
    }

    /// <summary>Handles one piece; returns the rows copied once the end piece of a current copy arrived.</summary>
    public long? Receive(in Frame frame, ServerTable table, AppliedRequests applied)
    {
        switch ((RangeRowsPiece)frame.Argument)
        {
            case RangeRowsPiece.Begin:
                Begin(frame, table, applied);
                return null;
            case RangeRowsPiece.Rows:
                if (Find(frame) is { } rows)
                {
                    int n = RangeCopyMessages.RowCount(frame.Extras, RangeSnapshot.MaxRows(rows.Part.Width));
                    if (rows.Block is null || rows.Block.Capacity < n)
                        rows.Block = new RowBlock(rows.Part.Width, rows.Part.Updater.StateCount, Math.Max(1, n));
                    RangeCopyMessages.DecodeRows(frame.Extras, rows.Block, rows.Range);
                    rows.Part.ImportRows(rows.Block);
                    rows.Rows += rows.Block.Count;
                }
                return null;
            case RangeRowsPiece.End:
                if (Find(frame) is not { } done)
                    return null;
                long expected = RangeCopyMessages.DecodeEnd(frame.Extras);
                _copies.Remove(done);
                if (expected != done.Rows)
                    throw new ProtocolException($"range copy {frame.RequestId} of table '{table.Layout.Spec.Name}' range {done.Range}: {done.Rows} rows arrived, the source sent {expected}");
                return done.Rows;
            default:
                throw new ProtocolException($"range copy {frame.RequestId}: unknown piece {frame.Argument}");
        }
    }

    private void Begin(in Frame frame, ServerTable table, AppliedRequests applied)
    {
        RangeCopyBegin begin = RangeCopyMessages.DecodeBegin(frame.Extras);
        ulong id = frame.RequestId;
        uint tableId = frame.TableId;
        Incoming? current = _copies.Find(c => c.Table == tableId && c.Range == begin.Range);
        if (current is not null && current.TransferId > id)
            return;
        Table part = table.EnsurePart(begin.Range);
        if (part.Width != begin.Width || part.Updater.StateCount != begin.StateCount)
            throw new ProtocolException($"range copy {id} of table '{table.Layout.Spec.Name}': rows of width {begin.Width} with {begin.StateCount} state values; the table here has {part.Width} and {part.Updater.StateCount}");
        // Only the ids of updates to this range are in its rows: ids of other ranges may belong to
        // updates still on their way here, which must not be taken for applied.
        foreach ((uint worker, ulong[] ids) in begin.Applied)
            applied.Merge(worker, ids, tableId, begin.Range.Begin);
        if (current is not null)
            _copies.Remove(current);
        _copies.Add(new Incoming(id, tableId, begin.Range, part));
        if (!IsJoining(tableId, begin.Range))
            _joining.Add((tableId, begin.Range));
    }

    private Incoming? Find(in Frame frame)
    {
        foreach (Incoming c in _copies)
        {
            if (c.TransferId == frame.RequestId && c.Table == frame.TableId)
                return c;
        }
        return null;
    }
}
