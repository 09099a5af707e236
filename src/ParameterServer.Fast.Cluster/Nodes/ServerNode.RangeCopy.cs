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
    // Per new member, how much of the applied request ids earlier copies from here already gave it,
    // over which connection (a new connection starts over: what went over the old one is not known to have arrived).
    private readonly Dictionary<int, (IConnection Peer, Dictionary<uint, long> Marks)> _idsExported = [];

    /// <summary>Range copies this server sent as a source (for tests and logs).</summary>
    public long RangeCopiesSent { get; private set; }

    // Where an update of this part goes next: the chain's successor or, while this tail copies the
    // part to a new member, that member. One count check when no copy runs.
    private int? ForwardTo(uint tableId, RangeAssignment part) =>
        Successor(part) ?? (_joiners.IsEmpty ? null : _joiners.For(tableId, part.Range));

    private void StartRangeCopy(in Frame frame)
    {
        RangeTransferOrder order = RangeCopyMessages.DecodeOrder(frame.Extras);
        _ = CopyWhenConnectedAsync(frame.RequestId, frame.TableId, order);
    }

    private async Task CopyWhenConnectedAsync(ulong transfer, uint tableId, RangeTransferOrder order)
    {
        try
        {
            if (!_peers.ContainsKey(order.Target))
            {
                IConnection peer = await _transport.ConnectAsync(Endpoint.Parse(order.Endpoint), _stop.Token).ConfigureAwait(false);
                peer.Start(_inbox);
                _accepted.Add(peer);
                if (!_peers.TryAdd(order.Target, peer))
                    await peer.DisposeAsync().ConfigureAwait(false);
            }
            _inbox.Post(() => CopyRange(transfer, tableId, order));
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException or InvalidOperationException)
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
        if (part.Range != order.Range || part.Chain[^1] != (int)_nodeId)
        {
            // A later map changed the chain: the scheduler abandoned this copy and plans anew.
            _logger.LogWarning("server {Rank}: range copy {Transfer} of {Range} dropped: this server is no longer that range's tail", Rank, transfer, order.Range);
            return;
        }
        long started = Stopwatch.GetTimestamp();
        if (!_idsExported.TryGetValue(order.Target, out var exported) || exported.Peer != peer)
            _idsExported[order.Target] = exported = (peer, []);
        long rows = RangeSnapshot.Send(peer, _nodeId, transfer, table, order.Range, _applied, exported.Marks);
        _joiners.Add(tableId, order.Range, order.Target);
        RangeCopiesSent++;
        _logger.LogInformation("server {Rank}: copied '{Table}' {Range} ({Rows} rows) to server {Target} in {Ms:0.0} ms; forwarding its updates there until it joins the chain",
            Rank, table.Layout.Spec.Name, order.Range, rows, target, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private void ReceiveRangeCopy(in Frame frame)
    {
        ServerTable table = TableOf(frame);
        if (_copies.Receive(frame, table, _applied) is not long rows || _schedulerConnection is null)
            return;
        _ = FrameOut.SendControl(_schedulerConnection, new FrameHeader(MessageType.RangeCopied, frame.TableId, _nodeId, frame.RequestId), RangeCopyMessages.EncodeEnd(rows));
    }
}
