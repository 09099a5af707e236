using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Cluster.Replication;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Rebuilding replicas after a server failure. A chain left shorter than --replicas gets a new
/// member: the first live server clockwise on the ring that it does not hold (so the chain becomes
/// the one the ring would give without the dead), filled by the chain's tail with a copy of the
/// range while pushes keep flowing (see <see cref="ServerNode"/>'s range copy for why nothing
/// acknowledged is missed). Only when every copy of the round reported its rows applied does the
/// scheduler publish a map with the new members at the chains' tails. A second failure during a
/// rebuild abandons the copies it was the source or target of; the chains are then planned again
/// from their current tails, so an acknowledged update is always on every member of a published chain.
/// </summary>
public sealed partial class SchedulerNode
{
    private ulong _transferIds;
    private readonly ReplicaRebuilder _rebuilder;

    private ulong NextTransferId() => ++_transferIds;

    /// <summary>The last rebuild: from the failure to the map naming the new members.</summary>
    public RebuildTiming LastRebuild { get; private set; }

    /// <summary>Range copies planned and not yet published (0 when every chain is whole or cannot be).</summary>
    public int RebuildsPending { get; private set; }

    private void RebuildAfterLoss(int lost)
    {
        int abandoned = _rebuilder.Abandon(lost);
        if (abandoned > 0)
            _logger.LogWarning("scheduler: {Count} range copies to or from server {Rank} abandoned; planning them again from the chains' tails", abandoned, NodeIds.ServerRank((uint)lost));
        PlanRebuilds(LastFailover.Detected);
        PublishRebuiltChains();
    }

    // Every chain shorter than it should be, with no copy running, gets one from its tail.
    private void PlanRebuilds(long since)
    {
        if (_ring is null)
            return;
        var live = LiveServers.ToDictionary(s => s.Info.Id);
        // A chain holds at most one member per failure domain (the shards of one process share one).
        int wanted = Math.Min(_job.Replicas, Domains(live.Keys));
        int planned = 0;
        foreach (TableLayout layout in _tables)
        {
            foreach (RangeAssignment part in layout.Ranges)
            {
                // A chain whose every member died is lost (it keeps its dead member); nothing to copy from.
                if (part.Chain.Length >= wanted || !part.Chain.All(live.ContainsKey) || _rebuilder.IsCopying(layout.Id, part.Range))
                    continue;
                int target = _ring.NextMember(layout.Spec.Range, part.Range.Begin, part.Chain, live.ContainsKey);
                if (target < 0)
                    continue;
                RangeTransfer transfer = _rebuilder.Start(layout.Id, part.Range, part.Chain[^1], target, since);
                IConnection source = live[transfer.Source].Connection;
                _ = FrameOut.SendControl(source, new FrameHeader(MessageType.RangeTransfer, layout.Id, NodeIds.Scheduler, transfer.Id),
                    RangeCopyMessages.EncodeOrder(new RangeTransferOrder(part.Range, target, live[target].Info.Endpoint))).AsTask();
                planned++;
            }
        }
        if (planned > 0)
            _logger.LogInformation("scheduler: rebuilding {Count} short replica chains: each tail copies its range to a new member", planned);
        _rebuilder.Idle();
        RebuildsPending = _rebuilder.Pending;
    }

    // False when the copy is not a rebuild's (a membership change's, or abandoned).
    private bool RangeCopied(in Frame frame)
    {
        long rows = RangeCopyMessages.DecodeEnd(frame.Extras);
        if (!_rebuilder.Copied(frame.RequestId, rows))
            return false;
        PublishRebuiltChains();
        return true;
    }

    // Once the round's copies are all applied: append each new member to its chain, one map for all.
    private void PublishRebuiltChains()
    {
        if (_rebuilder.TakeRound() is not { } round)
            return;
        var live = LiveServers.Select(s => s.Info.Id).ToHashSet();
        int ranges = 0;
        long rows = 0;
        foreach (RangeTransfer transfer in round)
        {
            int t = _tables.FindIndex(l => l.Id == transfer.Table);
            TableLayout layout = _tables[t];
            int index = layout.PartOf(transfer.Range.Begin);
            RangeAssignment part = layout.Ranges[index];
            // The copy counts only if its source is still the chain's tail and the target is alive.
            if (part.Range != transfer.Range || part.Chain[^1] != transfer.Source || part.Chain.Contains(transfer.Target) || !live.Contains(transfer.Target))
                continue;
            var parts = layout.Ranges.ToList();
            parts[index] = part with { Chain = [.. part.Chain, transfer.Target] };
            _tables[t] = layout with { Ranges = parts };
            ranges++;
            rows += transfer.Rows ?? 0;
        }
        if (ranges > 0)
        {
            Publish();
            LastRebuild = _rebuilder.Finish(Stopwatch.GetTimestamp(), ranges, rows);
            _metrics.Rebuilt(LastRebuild.Seconds);
            _logger.LogWarning("scheduler: rebuilt {Ranges} replicas ({Rows} rows copied) in {Seconds:0.000} s; range map version {Version}",
                ranges, rows, LastRebuild.Seconds, _version);
        }
        // Chains that need more than one new member (--replicas 3 and more), or whose copy was refused.
        PlanRebuilds(ranges > 0 ? Stopwatch.GetTimestamp() : LastFailover.Detected);
    }
}
