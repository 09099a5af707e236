using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Replication;

/// <summary>One range being copied from the tail of its chain to a new member.</summary>
internal sealed record RangeTransfer(ulong Id, uint Table, KeyRange Range, int Source, int Target)
{
    /// <summary>Rows the new member reported applied; null while the copy runs.</summary>
    public long? Rows { get; set; }
}

/// <summary>
/// How long the last rebuild took: from the failure that shortened the chains (Stopwatch ticks) to
/// the map that named their new members, with how many ranges and rows were copied.
/// </summary>
public readonly record struct RebuildTiming(long Started, long Finished, int Ranges, long Rows)
{
    public double Seconds => Finished > Started && Started > 0
        ? (Finished - Started) / (double)System.Diagnostics.Stopwatch.Frequency
        : 0;
}

/// <summary>
/// The scheduler's book of replica rebuilds: which ranges are being copied, by whom, to whom.
/// The copies of one round are published together, in one map, once none is still running, so
/// workers and servers see one map change per failure rather than one per range. A copy whose
/// source or target dies is abandoned (the chain is then still short and a new copy is planned
/// from the new tail). Owned by the scheduler's inbox thread.
/// </summary>
/// <param name="nextId">Transfer ids, shared by every book of one scheduler: a new member tells a
/// restarted copy of a range from an older one by its larger id.</param>
internal sealed class ReplicaRebuilder(Func<ulong> nextId)
{
    private readonly List<RangeTransfer> _transfers = [];
    private long _roundStarted;

    public RebuildTiming Last { get; private set; }

    /// <summary>Copies planned and not yet published (running or done).</summary>
    public int Pending => _transfers.Count;

    public bool IsCopying(uint table, KeyRange range) => _transfers.Exists(t => t.Table == table && t.Range == range);

    /// <summary>Drops every planned copy (a membership change interrupted by a failure starts over).</summary>
    public void Clear()
    {
        _transfers.Clear();
        _roundStarted = 0;
    }

    /// <summary>Plans a copy; the round's clock starts at <paramref name="since"/> (when the failure was seen) if none is pending.</summary>
    public RangeTransfer Start(uint table, KeyRange range, int source, int target, long since)
    {
        if (_transfers.Count == 0 && _roundStarted == 0)
            _roundStarted = since;
        var transfer = new RangeTransfer(nextId(), table, range, source, target);
        _transfers.Add(transfer);
        return transfer;
    }

    /// <summary>Abandons the copies <paramref name="server"/> was a source or target of; returns how many.</summary>
    public int Abandon(int server) => _transfers.RemoveAll(t => t.Source == server || t.Target == server);

    /// <summary>The new member applied the copy; false if the copy is no longer planned (abandoned meanwhile).</summary>
    public bool Copied(ulong id, long rows)
    {
        RangeTransfer? transfer = _transfers.Find(t => t.Id == id);
        if (transfer is null)
            return false;
        transfer.Rows = rows;
        return true;
    }

    /// <summary>When every planned copy is done: takes them (to be published together); otherwise null.</summary>
    public List<RangeTransfer>? TakeRound()
    {
        if (_transfers.Count == 0 || _transfers.Exists(t => t.Rows is null))
            return null;
        List<RangeTransfer> round = [.. _transfers];
        _transfers.Clear();
        return round;
    }

    /// <summary>The round's map went out at <paramref name="now"/>.</summary>
    public RebuildTiming Finish(long now, int ranges, long rows)
    {
        Last = new RebuildTiming(_roundStarted, now, ranges, rows);
        _roundStarted = 0;
        return Last;
    }

    /// <summary>Nothing was left to copy (every copy of the round abandoned, no target available).</summary>
    public void Idle()
    {
        if (_transfers.Count == 0)
            _roundStarted = 0;
    }
}
