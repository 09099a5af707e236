using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Cluster.Replication;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Rebuilding a replica: this server as the source (the tail of a chain that lost a member) or as
/// the new member a range is copied to.
/// <para>
/// Why the new member ends up with every acknowledged update, exactly once: the source is the
/// chain's tail, so every update is applied here before it is acknowledged. In one step of the
/// inbox (no update can land in between) the source reads the range's rows, sends them, and
/// registers the new member as a joiner; every update applied after that step is forwarded to the
/// joiner over the same connection, after the rows, and acknowledged upstream only once the joiner
/// acknowledges it. So an update is either in the rows or follows them in order, and nothing is
/// acknowledged that the joiner may miss. The rows carry the source's applied (worker, request id)
/// pairs, so a worker's retry of an update already in the rows is not applied twice. The scheduler
/// adds the joiner to the chain's tail only after it reported the rows applied; until then it
/// serves no request and a failure of the source simply abandons the copy.
/// </para>
/// </summary>
public sealed partial class ServerNode
{
    private readonly RangeJoiners _joiners = new();
    private readonly RangeCopyReceiver _copies = new();

    /// <summary>Range copies this server sent as a source (for tests and logs).</summary>
    public long RangeCopiesSent { get; private set; }

    // Where an update of this part goes next: the chain's successor or, while this tail copies the
    // part to a new member, that member. One count check when no copy runs.
    private int? ForwardTo(uint tableId, RangeAssignment part) =>
        Successor(part) ?? (_joiners.IsEmpty ? null : _joiners.For(tableId, part.Range));

    private void StartRangeCopy(in Frame frame)
    {
        RangeTransferOrder order = RangeCopyMessages.DecodeOrder(frame.Extras);
        ulong transfer = frame.RequestId;
        uint tableId = frame.TableId;
        // Off the inbox: a TCP connection is made and authenticated synchronously, and a round of
        // copies to a new server would otherwise hold this server's requests for every handshake.
        _ = Task.Run(() => CopyWhenConnectedAsync(transfer, tableId, order));
    }

    // Copies to one new member share one connection attempt.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, Lazy<Task<IConnection>>> _connecting = new();

    private async Task<IConnection> PeerAsync(int id, string endpoint)
    {
        if (_peers.TryGetValue(id, out IConnection? known))
            return known;
        Lazy<Task<IConnection>> attempt = _connecting.GetOrAdd(id, _ => new Lazy<Task<IConnection>>(() => ConnectPeerAsync(id, endpoint)));
        try
        {
            return await attempt.Value.ConfigureAwait(false);
        }
        finally
        {
            _connecting.TryRemove(new KeyValuePair<int, Lazy<Task<IConnection>>>(id, attempt));
        }
    }

    private async Task<IConnection> ConnectPeerAsync(int id, string endpoint)
    {
        IConnection peer = await _transport.ConnectAsync(Endpoint.Parse(endpoint), _stop.Token).ConfigureAwait(false);
        peer.Start(_inbox);
        _accepted.Add(peer);
        if (_peers.TryAdd(id, peer))
            return peer;
        await peer.DisposeAsync().ConfigureAwait(false);
        return _peers[id];
    }

    private async Task CopyWhenConnectedAsync(ulong transfer, uint tableId, RangeTransferOrder order)
    {
        try
        {
            await PeerAsync(order.Target, order.Endpoint).ConfigureAwait(false);
            _inbox.Post(() => CopyRange(transfer, tableId, order));
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException or InvalidOperationException or KeyNotFoundException)
        {
            // The new member is unreachable: the scheduler sees it die and plans another copy.
            _logger.LogWarning("server {Rank}: range copy {Transfer} to server {Target}: {Message}", Rank, transfer, NodeIds.ServerRank((uint)order.Target), e.Message);
        }
    }

    // One inbox step: snapshot, send, and register the joiner, with no update in between.
    private void CopyRange(ulong transfer, uint tableId, RangeTransferOrder order)
    {
        int target = NodeIds.ServerRank((uint)order.Target);
        if (_map is null || !_tables.TryGetValue(tableId, out ServerTable? table) || !_peers.TryGetValue(order.Target, out IConnection? peer)
            || !_map.Servers.Any(s => s.Id == order.Target))
        {
            _logger.LogWarning("server {Rank}: range copy {Transfer} to server {Target} dropped: the table or the server is gone", Rank, transfer, target);
            return;
        }
        RangeAssignment part = table.Layout.Ranges[table.Layout.PartOf(order.Range.Begin)];
        if (!part.Range.Contains(order.Range) || part.Chain[^1] != (int)_nodeId)
        {
            // A later map changed the chain: the scheduler abandoned this copy and plans anew.
            _logger.LogWarning("server {Rank}: range copy {Transfer} of {Range} dropped: this server is no longer that range's tail", Rank, transfer, order.Range);
            return;
        }
        long started = Stopwatch.GetTimestamp();
        (List<(FrameHeader, byte[])> frames, long rows) = RangeSnapshot.Take(_nodeId, transfer, table, order.Range, _applied);
        _joiners.Add(tableId, order.Range, order.Target);
        RangeCopiesSent++;
        string name = table.Layout.Spec.Name;
        _ = Task.Run(async () =>
        {
            bool sent = await RangeSnapshot.SendAsync(peer, frames).ConfigureAwait(false);
            _logger.LogInformation("server {Rank}: copy of '{Table}' {Range} ({Rows} rows) to server {Target} {Outcome} in {Ms:0.0} ms; its updates go there until it joins the chain",
                Rank, name, order.Range, rows, target, sent ? "sent" : "cut off", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            _inbox.Post(() => ReleaseHeldForwards(order.Target));
        });
    }

    // The copy's frames are out: the updates held for the new member follow them, oldest first.
    private void ReleaseHeldForwards(int target)
    {
        _joiners.Sent(target);
        if (_joiners.Holds(target))
            return;
        foreach ((ulong id, ChainForward forward) in _forwards.InOrder().Where(f => f.Forward.Successor == target && !f.Forward.Sent))
            SendForward(id, forward);
    }

    private void ReceiveRangeCopy(in Frame frame)
    {
        ServerTable table = TableOf(frame);
        if (_copies.Receive(frame, table, _applied) is not long rows || _schedulerConnection is null)
            return;
        _ = FrameOut.SendControl(_schedulerConnection, new FrameHeader(MessageType.RangeCopied, frame.TableId, _nodeId, frame.RequestId), RangeCopyMessages.EncodeEnd(rows));
    }

    // Rows coming down a chain are taken by a member from a member ahead of it, and by a new
    // member from the server copying the range to it. Otherwise they are dropped unacknowledged: a
    // server that left the chain must not answer for them, and one still in it must not take rows
    // from a server that left or that is now behind it. Rows overwrite, so rows from behind would
    // be older than this member's own: a new primary that was just a range copy's target still
    // gets rows its old source forwarded under the old map, and taking them would undo the pushes
    // it applied since (their workers are told "moved" and resend, applied once). In a failover
    // every live sender keeps its place ahead, so this never drops there.
    private bool TakesChainUpdates(uint tableId, RangeAssignment part, int sender)
    {
        int self = Array.IndexOf(part.Chain, (int)_nodeId), from = Array.IndexOf(part.Chain, sender);
        return (self >= 0 && from >= 0 && from < self) || _copies.IsJoining(tableId, part.Range);
    }

    // After a map change, rows in flight from here are dropped when the workers' pushes they carry
    // as primary now have another primary, or their range was split (the workers are told
    // "moved" and resend under the new map with the same request ids: applied once, their rows
    // marked anew), or when this server or the one they came from left the chain (that one's
    // workers are told the same). Failures and rebuilds never trigger this: they remove only dead
    // members, whose updates are resent anyway, or append new ones at the tail.
    private bool DropsForward(ChainForward forward, RangeAssignment part)
    {
        bool keeps = part.Range == forward.Part && (forward.FromWorkers
            ? part.Primary == (int)_nodeId
            : TakesChainUpdates(forward.TableId, part, forward.UpstreamServer));
        if (keeps)
            return false;
        if (forward.FromWorkers)
        {
            foreach (ChainUpstream upstream in forward.Upstreams)
                SendMoved(upstream.Connection, forward.TableId, upstream.Id);
        }
        return true;
    }

    private void SendMoved(IConnection worker, uint tableId, ulong requestId) =>
        _ = FrameOut.SendControl(worker, new FrameHeader(MessageType.Moved, tableId, _nodeId, requestId, 0, _map?.Version ?? 0));
}
