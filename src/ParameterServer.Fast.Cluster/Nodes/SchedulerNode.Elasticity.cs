using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Cluster.Replication;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Elasticity: a server that registers with a running job joins it, and a server can be drained
/// out. Either way the ring is recomputed over the members, every range takes the chain the new
/// ring gives most of it (<see cref="RangeMoves"/>: boundaries stay), and every range whose next
/// chain has a server its current chain lacks is copied there first, from the current chain's tail, by the same copy that rebuilds replicas
/// (rows, applied request ids, then every later update forwarded). Once the round's copies are
/// applied one map switches the ranges to their next chains. Requests that reach a server no
/// longer holding their range are answered "moved, map version V" and resent under that map with
/// the same request id, so none is lost or applied twice. A range that needs copies to more than one
/// server first gains one at its tail per round. A drained server, once no chain names it, is told to stop.
/// A failure during a change abandons the round; the change is planned again after the rebuild.
/// </summary>
public sealed partial class SchedulerNode
{
    // Rounds per membership change at most: each round moves every part by at least one server.
    private const int MaxRounds = 16;

    private readonly ReplicaRebuilder _moves;
    private readonly HashSet<int> _leaving = [];
    private readonly HashSet<int> _departed = [];
    private readonly List<(int Id, TaskCompletionSource Done)> _drains = [];
    private List<(int Table, List<RangeMove> Moves)>? _round;
    private bool _rebalanceWhenPublished;
    private int _rounds;
    private long _changeStarted;

    /// <summary>The last membership change: when it began, when its final map went out, ranges and rows copied.</summary>
    public RebuildTiming LastRebalance { get; private set; }

    /// <summary>Whether a membership change (a server added or drained) is still moving ranges.</summary>
    public bool Rebalancing { get; private set; }

    /// <summary>
    /// Moves every range off server <paramref name="rank"/>, then tells it to stop. Completes when
    /// it was told; fails naming why when it cannot be drained.
    /// </summary>
    public Task DrainAsync(int rank)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_inbox.Post(() => StartDrain(rank, done)))
            done.TrySetException(new InvalidOperationException("the scheduler has stopped"));
        return done.Task;
    }

    // An operator's `psf drain`: answered once the drain is done, or with the reason it was refused.
    private async Task AnswerDrainAsync(IConnection connection, ulong requestId, int rank)
    {
        try
        {
            await DrainAsync(rank).ConfigureAwait(false);
            await FrameOut.SendControl(connection, new FrameHeader(MessageType.DrainReply, 0, NodeIds.Scheduler, requestId)).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The operator went away; the drain goes on without anyone to tell.
        }
        catch (Exception e)
        {
            try
            {
                await FrameOut.SendError(connection, NodeIds.Scheduler, requestId, 0, e.Message).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // As above.
            }
        }
    }

    private void StartDrain(int rank, TaskCompletionSource done)
    {
        int id = (int)NodeIds.Server(rank);
        var members = LiveServers.Select(s => s.Info.Id).Where(s => !_leaving.Contains(s)).ToList();
        int domainsLeft = Domains(members.Where(m => m != id));
        string? refused = _ring is null ? "the job has not started"
            : !members.Contains(id) ? $"server {rank} is not a live member of the job"
            : _job.Replicas < 2 ? "draining needs --replicas 2 or more (with one replica request ids are not recorded, so a moved request could be applied twice)"
            : domainsLeft < _job.Replicas ? $"the job needs {_job.Replicas} failure domains (server processes) for its replicas and would have {domainsLeft}"
            : null;
        if (refused is not null)
        {
            done.TrySetException(new InvalidOperationException($"cannot drain server {rank}: {refused}"));
            return;
        }
        _leaving.Add(id);
        _drains.Add((id, done));
        _logger.LogWarning("scheduler: draining server {Rank}: its ranges move to the other servers", rank);
        BeginChange();
    }

    private void AdmitJoiningServer(IConnection connection, RegisterRequest request)
    {
        if (_job.Replicas < 2)
            throw new InvalidOperationException("a server can join a running job only with --replicas 2 or more (with one replica request ids are not recorded, so a moved request could be applied twice)");
        int rank = _servers.Count;
        uint id = NodeIds.Server(rank);
        _servers.Add((connection, new ServerInfo((int)id, request.Endpoint)));
        NoteDomain((int)id, request.Domain);
        _detector.Heard(connection);
        Send(connection, MessageType.Register, ControlMessages.Encode(new RegisterReply((int)id, rank)));
        _logger.LogWarning("scheduler: server {Rank} at {Endpoint} joins the running job; ranges move to it", rank, request.Endpoint);
        // First a map that lists it and holds nothing on it: it creates the tables, workers connect
        // to it; once every server holds that map the ranges start moving.
        Publish();
        _changeStarted = Stopwatch.GetTimestamp();
        LastRebalance = new RebuildTiming(_changeStarted, 0, 0, 0);
        _rounds = 0;
        _rebalanceWhenPublished = true;
        Rebalancing = true;
    }

    private void BeginChange()
    {
        _changeStarted = Stopwatch.GetTimestamp();
        LastRebalance = new RebuildTiming(_changeStarted, 0, 0, 0);
        _rounds = 0;
        Rebalancing = true;
        if (_publishedVersion == _version)
            Rebalance();
        else
            _rebalanceWhenPublished = true;
    }

    // Called once every live server holds the current map.
    private void MembershipMapPublished()
    {
        if (_rebalanceWhenPublished && _round is null)
        {
            _rebalanceWhenPublished = false;
            Rebalance();
        }
    }

    // One round: every range whose next chain has a server its chain lacks is copied to one of them.
    private void Rebalance()
    {
        if (_ring is null || _round is not null)
            return;
        if (_rebuilder.Pending > 0)
        {
            _rebalanceWhenPublished = true; // after the rebuild's map
            return;
        }
        if (_rounds >= MaxRounds)
        {
            _logger.LogError("scheduler: the membership change did not settle in {Rounds} rounds; the remaining ranges keep their chains", MaxRounds);
            FinishChange();
            return;
        }
        var members = LiveServers.Select(s => s.Info.Id).Where(s => !_leaving.Contains(s)).ToList();
        var ring = new HashRing(members, _job.VirtualNodes, DomainOf);
        var round = new List<(int, List<RangeMove>)>();
        var live = LiveServers.ToDictionary(s => s.Info.Id);
        int copies = 0, moving = 0;
        for (int t = 0; t < _tables.Count; t++)
        {
            TableLayout layout = _tables[t];
            List<RangeMove> pieces = RangeMoves.On(layout.Ranges, ring.Partition(layout.Spec.Range, _job.Replicas));
            foreach (RangeMove move in pieces)
            {
                if (!move.Moves)
                    continue;
                moving++;
                int[] joining = move.Joining;
                // A chain with a dead member is being failed over; the next round takes it.
                if (joining.Length == 0 || !move.Current.Chain.All(live.ContainsKey))
                    continue;
                RangeAssignment part = move.Current;
                int target = joining[0];
                RangeTransfer transfer = _moves.Start(layout.Id, part.Range, part.Chain[^1], target, _changeStarted);
                _ = FrameOut.SendControl(live[transfer.Source].Connection, new FrameHeader(MessageType.RangeTransfer, layout.Id, NodeIds.Scheduler, transfer.Id),
                    RangeCopyMessages.EncodeOrder(new RangeTransferOrder(part.Range, target, live[target].Info.Endpoint))).AsTask();
                copies++;
            }
            round.Add((t, pieces));
        }
        if (moving == 0)
        {
            FinishChange();
            return;
        }
        _rounds++;
        _round = round;
        _logger.LogInformation("scheduler: membership change round {Round}: {Moving} ranges move, {Copies} copied first", _rounds, moving, copies);
        if (copies == 0)
            PublishMoved();
    }

    private void RangeMoved(in Frame frame)
    {
        if (_moves.Copied(frame.RequestId, RangeCopyMessages.DecodeEnd(frame.Extras)))
            PublishMoved();
    }

    // Every copy of the round applied: each piece whose next chain's servers all hold it switches.
    private void PublishMoved()
    {
        if (_round is null)
            return;
        List<RangeTransfer> copied;
        if (_moves.Pending == 0)
            copied = [];
        else if (_moves.TakeRound() is { } done)
            copied = done;
        else
            return;
        var live = LiveServers.Select(s => s.Info.Id).ToHashSet();
        int switched = 0;
        long rows = 0;
        foreach ((int t, List<RangeMove> pieces) in _round)
        {
            TableLayout layout = _tables[t];
            var next = new List<RangeAssignment>(pieces.Count);
            foreach (RangeMove move in pieces)
            {
                RangeAssignment part = move.Current;
                int[] added = [.. copied.Where(c => c.Table == layout.Id && c.Range == part.Range && c.Source == part.Chain[^1] && live.Contains(c.Target)).Select(c => c.Target)];
                bool holds = move.Next.All(s => live.Contains(s) && (part.Chain.Contains(s) || added.Contains(s)));
                // The next chain once every member holds the range; a range that needs more new
                // servers keeps its chain with the copied one at the tail (as a rebuild would).
                int[] chain = holds ? move.Next : [.. part.Chain, .. added.Where(s => !part.Chain.Contains(s))];
                next.Add(part with { Chain = chain });
                if (!chain.AsSpan().SequenceEqual(part.Chain))
                    switched++;
            }
            _tables[t] = layout with { Ranges = next };
        }
        rows = copied.Sum(c => c.Rows ?? 0);
        _round = null;
        _ring = new HashRing(LiveServers.Select(s => s.Info.Id).Where(s => !_leaving.Contains(s)), _job.VirtualNodes, DomainOf);
        LastRebalance = new RebuildTiming(_changeStarted, Stopwatch.GetTimestamp(), LastRebalance.Ranges + copied.Count, LastRebalance.Rows + rows);
        _logger.LogWarning("scheduler: {Switched} ranges switched to new chains ({Copies} ranges, {Rows} rows copied); range map version {Version}",
            switched, copied.Count, rows, _version + 1);
        Publish();
        // The next round (or the end of the change) starts once every server holds this map.
        _rebalanceWhenPublished = true;
    }

    // Nothing left to move: drained servers, named by no chain now, are told to stop.
    private void FinishChange()
    {
        _rebalanceWhenPublished = false;
        Rebalancing = false;
        _rounds = 0;
        LastRebalance = LastRebalance with { Finished = Stopwatch.GetTimestamp() };
        if (_leaving.Count == 0)
            return;
        foreach (int id in _leaving.ToList())
        {
            int index = _servers.FindIndex(s => s.Info.Id == id);
            _leaving.Remove(id);
            _departed.Add(id);
            _deadServers.Add(id);
            _detector.Forget(_servers[index].Connection);
            Send(_servers[index].Connection, MessageType.Shutdown, []);
            _logger.LogWarning("scheduler: server {Rank} drained: no range left on it; told to stop", index);
            foreach ((int drained, TaskCompletionSource done) in _drains.Where(d => d.Id == id).ToList())
            {
                done.TrySetResult();
                _drains.Remove((drained, done));
            }
        }
        // The servers' list without the drained ones, so workers stop counting on them.
        Publish();
    }

    // A failure during a change: the round is abandoned (its copies too), the change restarts
    // from the layout the failover leaves, after the rebuild.
    private void InterruptMembershipChange(int lost)
    {
        if (_leaving.Remove(lost))
        {
            foreach ((int id, TaskCompletionSource done) in _drains.Where(d => d.Id == lost).ToList())
            {
                done.TrySetException(new InvalidOperationException($"server {NodeIds.ServerRank((uint)lost)} died while being drained"));
                _drains.Remove((id, done));
            }
        }
        if (!Rebalancing)
            return;
        _moves.Clear();
        _round = null;
        _rebalanceWhenPublished = true;
        _logger.LogWarning("scheduler: a server failed during a membership change; the change restarts after the failover");
    }
}
