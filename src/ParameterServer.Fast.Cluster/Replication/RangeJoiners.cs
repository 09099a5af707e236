using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Replication;

/// <summary>
/// The servers a chain's tail is copying ranges to: from the step that took a range's snapshot
/// until a map names the new member in the chain (or drops it), every update the tail applies to
/// that range is also forwarded to it, acknowledged like any chain forward. Owned by the server's
/// inbox; empty (one count check per push) whenever no rebuild is running.
/// </summary>
internal sealed class RangeJoiners
{
    private readonly List<(uint Table, KeyRange Range, int Target)> _joiners = [];
    // New members whose copy's frames are still being sent: updates for them wait until then.
    private readonly List<int> _sending = [];

    public bool IsEmpty => _joiners.Count == 0;

    public int Count => _joiners.Count;

    /// <summary>
    /// Starts forwarding updates of <paramref name="range"/> to <paramref name="target"/> (replacing
    /// an older copy of the same range); they are held until <see cref="Sent"/>.
    /// </summary>
    public void Add(uint table, KeyRange range, int target)
    {
        _joiners.RemoveAll(j => j.Table == table && j.Range == range);
        _joiners.Add((table, range, target));
        _sending.Add(target);
    }

    /// <summary>One copy's frames to <paramref name="target"/> are sent (or its connection ended).</summary>
    public void Sent(int target) => _sending.Remove(target);

    /// <summary>Whether anything sent to <paramref name="target"/> now could overtake a copy's frames.</summary>
    public bool Holds(int target) => _sending.Contains(target);

    /// <summary>The server copying the part of <paramref name="table"/> at <paramref name="range"/>, if any.</summary>
    public int? For(uint table, KeyRange range)
    {
        foreach ((uint t, KeyRange r, int target) in _joiners)
        {
            if (t == table && r == range)
                return target;
        }
        return null;
    }

    /// <summary>
    /// Drops the copies a new map settles: the new member is in the range's chain now (its updates
    /// come down the chain from here on), it is no longer a live server (the copy was abandoned),
    /// or this server left the chain.
    /// </summary>
    public void Prune(RangeMap map, int self)
    {
        _joiners.RemoveAll(j =>
        {
            TableLayout? layout = map.Table(j.Table);
            if (layout is null || !map.Servers.Any(s => s.Id == j.Target))
                return true;
            RangeAssignment part = layout.Ranges[layout.PartOf(j.Range.Begin)];
            return part.Range != j.Range || part.Chain.Contains(j.Target) || !part.Chain.Contains(self);
        });
    }
}
