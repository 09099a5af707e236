using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ParameterServer.Fast.Cluster.Checkpoints;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// The scheduler (the paper's server manager): registers nodes and gives them ids, lays every
/// declared table over the consistent-hashing ring, publishes the versioned range map (and waits
/// for every server to hold it before a worker may use it), runs barriers and collects progress.
/// All state is owned by its inbox thread.
/// </summary>
public sealed partial class SchedulerNode : IAsyncDisposable, CheckpointCoordinator.IJob
{
    private readonly ITransport _transport;
    private readonly Endpoint _listenAt;
    private readonly JobOptions _job;
    private readonly ILogger _logger;
    private readonly Inbox _inbox;
    private readonly FrameDecoder _decoder = new();
    private readonly List<(IConnection Connection, ServerInfo Info)> _servers = [];
    private readonly List<IConnection?> _workers = [];
    private readonly List<(IConnection Connection, uint Id)> _waitingWorkers = [];
    private readonly List<TableLayout> _tables = [];
    private readonly List<(IConnection Connection, ulong RequestId, uint Sender)> _declaresWaiting = [];
    private readonly Dictionary<uint, List<(IConnection Connection, uint Sender)>> _barriers = [];
    private readonly HashSet<int> _acked = [];
    private readonly HashSet<int> _deadServers = [];
    private readonly bool[] _live;
    private readonly bool[] _done;
    private readonly long[] _clocks;
    private readonly List<IConnection> _spares = [];
    private readonly HashSet<uint> _releasedBarriers = [];
    private readonly long[] _deadSince;
    private readonly TimeProvider _time;
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private IListener? _listener;
    private HashRing? _ring;
    // Servers that named a failure domain (the shards of one process, or one machine's servers);
    // the others are each a domain of their own. Chains never put two members in one domain.
    // Read and written on the scheduler's inbox only.
    private readonly Dictionary<int, string> _domains = [];

    private void NoteDomain(int server, string domain)
    {
        if (domain.Length > 0)
            _domains[server] = domain;
    }

    private string DomainOf(int server) => _domains.TryGetValue(server, out string? d) ? d : HashRing.OwnDomain(server);

    // How many failure domains the servers span: the longest a replica chain can be.
    private int Domains(IEnumerable<int> servers) => servers.Select(DomainOf).Distinct().Count();
    private uint _version;
    private uint _publishedVersion;
    private readonly Membership.FailureDetector<IConnection> _detector;
    private readonly List<IConnection> _silent = [];
    private Timer? _livenessTimer;

    public SchedulerNode(ITransport transport, Endpoint listenAt, JobOptions job, ILogger? logger = null, TimeProvider? time = null)
    {
        _detector = new Membership.FailureDetector<IConnection>(time ?? TimeProvider.System, job.HeartbeatTimeout);
        job.Validate();
        _transport = transport;
        _listenAt = listenAt;
        _job = job;
        _logger = logger ?? NullLogger.Instance;
        _live = new bool[job.Workers];
        _done = new bool[job.Workers];
        _clocks = new long[job.Workers];
        _deadSince = new long[job.Workers];
        _time = time ?? TimeProvider.System;
        _serverRates = new Operations.ThroughputRates(_time);
        _inbox = new Inbox("psf-scheduler", _logger, OnFrame, OnClosed);
        _rebuilder = new Replication.ReplicaRebuilder(NextTransferId);
        _moves = new Replication.ReplicaRebuilder(NextTransferId);
    }

    private CheckpointCoordinator? _checkpoints;

    /// <summary>
    /// Checkpoints of the job (<see cref="CheckpointCoordinator"/>), and the one it resumes from;
    /// null takes none. Set before <see cref="Start"/>.
    /// </summary>
    public CheckpointPolicy? Checkpoints
    {
        get => _checkpoints?.Policy;
        init
        {
            if (value is null)
                return;
            value.Validate();
            _checkpoints = new CheckpointCoordinator(value, _logger, _time, this);
            _checkpoints.Committed += (clock, folder, bytes) => CheckpointCommitted?.Invoke(clock, folder, bytes);
            _checkpoints.GivenUp += (clock, why) => CheckpointGivenUp?.Invoke(clock, why);
            Array.Fill(_clocks, value.StartClock);
        }
    }

    /// <summary>Raised on the scheduler's thread when a checkpoint is committed: its clock, folder and bytes.</summary>
    public event Action<long, string, long>? CheckpointCommitted;

    /// <summary>Raised on the scheduler's thread when a checkpoint is given up: its clock and why.</summary>
    public event Action<long, string>? CheckpointGivenUp;

    // A rank not yet registered is waited for too: its worker has all its iterations ahead.
    IEnumerable<int> CheckpointCoordinator.IJob.WorkersInIterations =>
        Enumerable.Range(0, _job.Workers).Where(w => w >= _workers.Count || (_live[w] && !_done[w] && _clocks[w] < WorkerClient.FinishedClock));

    IEnumerable<(IConnection Connection, int Id)> CheckpointCoordinator.IJob.LiveServers => LiveServers.Select(s => (s.Connection, s.Info.Id));

    uint CheckpointCoordinator.IJob.MapVersion => _version;

    /// <summary>Where the scheduler listens (port 0 resolved).</summary>
    public Endpoint Endpoint => _listener?.LocalEndpoint ?? throw new InvalidOperationException("the scheduler has not started");

    /// <summary>Raised on the scheduler's thread for every progress report of a worker.</summary>
    public event Action<ProgressReport>? Progress;

    /// <summary>Completes when every worker reported done; the job is then shut down.</summary>
    public Task Finished => _finished.Task;

    public RangeMap CurrentMap => BuildMap();

    public void Start()
    {
        _listener = _transport.Listen(_listenAt);
        _ = Task.Run(AcceptLoop);
        _livenessTimer = new Timer(_ => _inbox.Post(CheckLiveness), null, _job.HeartbeatInterval, _job.HeartbeatInterval);
    }

    private async Task AcceptLoop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                IConnection connection = await _listener!.AcceptAsync(_stop.Token).ConfigureAwait(false);
                connection.Start(_inbox);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionClosedException or System.Threading.Channels.ChannelClosedException)
        {
            // Stopping.
        }
    }

    private void OnFrame(IConnection connection, ReadOnlySpan<byte> bytes)
    {
        Frame frame;
        try
        {
            frame = _decoder.Read(bytes);
        }
        catch (ProtocolException e)
        {
            _logger.LogWarning("scheduler: bad frame from {Peer}: {Message}", connection.RemoteName, e.Message);
            return;
        }
        if (_workers.Contains(connection) || _servers.Any(s => s.Connection == connection))
            _detector.Heard(connection);
        try
        {
            switch (frame.Type)
            {
                case MessageType.Register:
                    Register(connection, ControlMessages.DecodeRegisterRequest(frame.Extras));
                    break;
                case MessageType.RangeMap:
                    ServerAcked(frame);
                    break;
                case MessageType.DeclareTable:
                    Declare(connection, frame.RequestId, frame.SenderId, ControlMessages.DecodeTableSpec(frame.Extras));
                    break;
                case MessageType.Barrier:
                    Barrier(connection, frame.Argument, frame.SenderId);
                    break;
                case MessageType.Progress:
                    Report(ControlMessages.DecodeProgress(frame.Extras));
                    break;
                case MessageType.Clock:
                    if (NodeIds.IsWorker(frame.SenderId) && NodeIds.WorkerRank(frame.SenderId) is int rank && rank < _job.Workers)
                    {
                        _clocks[rank] = Math.Max(_clocks[rank], frame.Clock);
                        NoteClockLag();
                        // A worker out of iterations is no longer waited for at a checkpoint.
                        if (frame.Clock >= WorkerClient.FinishedClock)
                            _checkpoints?.TryStart();
                    }
                    break;
                case MessageType.CheckpointEnter:
                    if (_checkpoints is null)
                        throw new InvalidOperationException("this job takes no checkpoints (the scheduler has no --checkpoint-dir)");
                    if (_workers.IndexOf(connection) is int enteringRank and >= 0)
                        _checkpoints.Enter(connection, enteringRank, frame.Clock);
                    break;
                case MessageType.CheckpointWritten:
                    if (_servers.FindIndex(s => s.Connection == connection) is int writer and >= 0)
                        _checkpoints?.Written(_servers[writer].Info.Id, frame.Clock, CheckpointMessages.DecodeWriteResult(frame.Extras));
                    break;
                case MessageType.CheckpointRestoreFailed:
                    string why = FrameDecoder.ErrorMessage(frame);
                    _logger.LogError("scheduler: server {Sender} could not restore the checkpoint: {Message}", NodeIds.ServerRank(frame.SenderId), why);
                    _finished.TrySetException(new CheckpointCorruptException($"resuming failed on server {NodeIds.ServerRank(frame.SenderId)}: {why}"));
                    Shutdown();
                    break;
                case MessageType.Heartbeat:
                    NoteServerLoad(connection, frame);
                    break;
                case MessageType.RangeCopied:
                    if (!RangeCopied(frame))
                        RangeMoved(frame);
                    break;
                case MessageType.DrainRequest:
                    _ = AnswerDrainAsync(connection, frame.RequestId, (int)Math.Min(frame.Argument, int.MaxValue));
                    break;
                case MessageType.StatusRequest:
                    _ = FrameOut.SendControl(connection, new FrameHeader(MessageType.StatusReply, 0, NodeIds.Scheduler, frame.RequestId),
                        Operations.StatusMessages.Encode(BuildStatus()));
                    break;
                default:
                    throw new ProtocolException($"the scheduler does not take {frame.Type} frames");
            }
        }
        catch (Exception e) when (e is ArgumentException or ProtocolException or InvalidOperationException)
        {
            _ = FrameOut.SendError(connection, NodeIds.Scheduler, frame.RequestId, frame.TableId, $"scheduler: {e.Message}").AsTask();
        }
    }

    private void Register(IConnection connection, RegisterRequest request)
    {
        if (request.Role == NodeRole.Server)
        {
            if (_ring is not null)
            {
                AdmitJoiningServer(connection, request);
                return;
            }
            if (_servers.Count >= _job.Servers)
                throw new InvalidOperationException($"the job already has its {_job.Servers} servers");
            int rank = _servers.Count;
            uint id = NodeIds.Server(rank);
            _servers.Add((connection, new ServerInfo((int)id, request.Endpoint)));
            NoteDomain((int)id, request.Domain);
            _detector.Heard(connection);
            // Before the reply, so the server knows it before any range map creates a table.
            if (Checkpoints?.Resume is { Found: { } resume, Folder: { } folder })
                _ = FrameOut.SendControl(connection, new FrameHeader(MessageType.CheckpointRestore, 0, NodeIds.Scheduler, 0, resume.Clock), CheckpointMessages.EncodeFolder(folder)).AsTask();
            Send(connection, MessageType.Register, ControlMessages.Encode(new RegisterReply((int)id, rank)));
            _logger.LogInformation("scheduler: server {Rank} at {Endpoint}", rank, request.Endpoint);
            if (_servers.Count == _job.Servers)
            {
                _ring = new HashRing(_servers.Select(s => s.Info.Id), _job.VirtualNodes, DomainOf);
                Publish();
            }
            return;
        }
        if (_workers.Count < _job.Workers)
        {
            AdmitWorker(connection, _workers.Count, Checkpoints?.StartClock ?? 0);
            _workers.Add(connection);
            return;
        }
        // A full job takes a worker only to replace a dead one; one that arrives before the death
        // is noticed waits as a spare.
        if (Array.FindIndex(_live, l => !l) < 0)
        {
            _spares.Add(connection);
            return;
        }
        Replace(connection);
    }

    // The replacement reruns the dead worker's shard from the dead worker's last clock: every app
    // ticks its clock once the iteration's pushes are acknowledged, so the iterations before it
    // are all in the servers and the apps skip them (nothing lost, nothing twice but the one in
    // flight at the death). The servers count it at the slowest live clock meanwhile (ReviveWorker),
    // so it does not hold the others back while it catches up. A worker that died with its
    // iterations done has nothing to rerun: its replacement starts at the slowest live clock.
    private void Replace(IConnection connection)
    {
        int rank = Array.FindIndex(_live, l => !l);
        long startClock = _clocks[rank] < WorkerClient.FinishedClock ? _clocks[rank] : LiveClocks().DefaultIfEmpty(0).Min();
        _workers[rank] = connection;
        _done[rank] = false;
        _logger.LogWarning("scheduler: a new worker takes over the shard of dead worker {Rank} from clock {Clock}", rank, startClock);
        AdmitWorker(connection, rank, startClock);
        if (_ring is not null)
            Publish();
    }

    private void AdmitWorker(IConnection connection, int rank, long startClock)
    {
        _live[rank] = true;
        _clocks[rank] = startClock;
        _detector.Heard(connection);
        uint workerId = NodeIds.Worker(rank);
        if (Checkpoints is { Every: > 0 } policy)
            Send(connection, MessageType.CheckpointPlan, [], (uint)policy.Every);
        Send(connection, MessageType.Register, ControlMessages.Encode(new RegisterReply((int)workerId, rank, startClock)));
        if (_ring is not null && _publishedVersion == _version)
            Send(connection, MessageType.RangeMap, ControlMessages.Encode(BuildMap()), _version);
        else
            _waitingWorkers.Add((connection, workerId));
    }

    private void Declare(IConnection connection, ulong requestId, uint sender, TableSpec spec)
    {
        if (_ring is null)
            throw new InvalidOperationException("tables can be declared once every server has joined");
        TableLayout? existing = _tables.FirstOrDefault(t => t.Spec.Name == spec.Name);
        if (existing is not null)
        {
            if (existing.Spec != spec)
                throw new ArgumentException($"table '{spec.Name}' is already declared with a different spec");
        }
        else
        {
            _tables.Add(new TableLayout((uint)_tables.Count + 1, spec, _ring.Partition(spec.Range, _job.Replicas)));
            Publish();
        }
        _declaresWaiting.Add((connection, requestId, sender));
        AnswerWhenPublished();
    }

    // A new map goes to the servers first; workers see it only once every server holds it, so no
    // push can reach a server that does not know the table yet.
    private void Publish()
    {
        _version++;
        _acked.Clear();
        byte[] map = ControlMessages.Encode(BuildMap());
        foreach ((IConnection c, _) in LiveServers)
            Send(c, MessageType.RangeMap, map, _version);
    }

    private IEnumerable<(IConnection Connection, ServerInfo Info)> LiveServers => _servers.Where(s => !_deadServers.Contains(s.Info.Id));

    /// <summary>When the last server failure was detected and when the map without it was in every live server's hands (Stopwatch ticks; 0 if none).</summary>
    public (long Detected, long Published) LastFailover { get; private set; }

    // A dead server leaves every chain it was in; the next server of each chain becomes its
    // primary (it holds everything the tail acknowledged, and more). Workers resend what the dead
    // one never acknowledged to the new primaries once they get the new map.
    private void ServerLost(int index, Exception? error)
    {
        int id = _servers[index].Info.Id;
        if (!_deadServers.Add(id))
            return;
        if (_ring is null)
        {
            // The ring is laid once every server has joined; one that dies before cannot be replaced.
            _logger.LogError("scheduler: server {Rank} died before the job started{Reason}", index, error is null ? "" : $": {error.Message}");
            _finished.TrySetException(new InvalidOperationException($"server {index} died before the job started{(error is null ? "" : $": {error.Message}")}"));
            return;
        }
        _detector.Forget(_servers[index].Connection);
        _checkpoints?.ServerLost(id);
        LastFailover = (System.Diagnostics.Stopwatch.GetTimestamp(), 0);
        var orphaned = new List<string>();
        for (int t = 0; t < _tables.Count; t++)
        {
            TableLayout layout = _tables[t];
            var ranges = new List<RangeAssignment>(layout.Ranges.Count);
            foreach (RangeAssignment a in layout.Ranges)
            {
                if (!a.Chain.Contains(id))
                    ranges.Add(a);
                else if (a.Chain.Length > 1)
                    ranges.Add(a with { Chain = [.. a.Chain.Where(s => s != id)] });
                else
                {
                    ranges.Add(a);
                    orphaned.Add($"'{layout.Spec.Name}' {a.Range}");
                }
            }
            _tables[t] = layout with { Ranges = ranges };
        }
        if (orphaned.Count > 0)
            _logger.LogError("scheduler: server {Rank} lost{Reason}; ranges {Ranges} had no other replica and are gone (run with --replicas 2 or more to survive this)",
                index, error is null ? "" : $": {error.Message}", string.Join(", ", orphaned.Take(5)));
        else
            _logger.LogWarning("scheduler: server {Rank} lost{Reason}; the next server of each of its chains takes over", index, error is null ? "" : $": {error.Message}");
        if (_ring is not null)
        {
            InterruptMembershipChange(id);
            Publish();
            RebuildAfterLoss(id);
        }
    }

    private void ServerAcked(in Frame frame)
    {
        if (frame.Argument != _version)
            return;
        _acked.Add((int)frame.SenderId);
        if (LiveServers.Any(s => !_acked.Contains(s.Info.Id)))
            return;
        _publishedVersion = _version;
        if (LastFailover is { Detected: > 0, Published: 0 })
            LastFailover = LastFailover with { Published = System.Diagnostics.Stopwatch.GetTimestamp() };
        byte[] map = ControlMessages.Encode(BuildMap());
        // Every registered worker gets each published map (a table another worker declared, a
        // worker marked dead), not only those that joined before the first one.
        foreach (IConnection? c in _workers)
        {
            if (c is not null)
                Send(c, MessageType.RangeMap, map, _version);
        }
        _waitingWorkers.Clear();
        AnswerWhenPublished();
        MembershipMapPublished();
    }

    private void AnswerWhenPublished()
    {
        if (_publishedVersion != _version)
            return;
        byte[] map = ControlMessages.Encode(BuildMap());
        foreach ((IConnection c, ulong requestId, uint sender) in _declaresWaiting)
            _ = FrameOut.SendControl(c, new FrameHeader(MessageType.RangeMap, 0, NodeIds.Scheduler, requestId, 0, _version), map).AsTask();
        _declaresWaiting.Clear();
    }

    private void Barrier(IConnection connection, uint barrier, uint sender)
    {
        _logger.LogInformation("scheduler: worker {Rank} at barrier {Barrier}", NodeIds.WorkerRank(sender), barrier);
        // A barrier the others already passed lets a late arrival through at once: a replacement
        // rerunning a dead worker's shard from its start, or one that came after the others
        // stopped waiting for it.
        if (_releasedBarriers.Contains(barrier))
        {
            _ = FrameOut.SendControl(connection, new FrameHeader(MessageType.Barrier, Argument: barrier)).AsTask();
            return;
        }
        if (!_barriers.TryGetValue(barrier, out var arrived))
            _barriers[barrier] = arrived = [];
        arrived.Add((connection, sender));
        ReleaseBarriers();
    }

    // A barrier opens once every shard that is still being worked on has reached it: a live
    // worker's, and a dead worker's while its replacement may still come (ReplacementTimeout), so
    // what follows a barrier (an app's final evaluation, say) sees the rerun shard too. An arrival
    // counts for its rank, whichever incarnation of the worker made it.
    private void ReleaseBarriers()
    {
        if (_workers.Count < _job.Workers)
            return;
        long now = _time.GetTimestamp();
        foreach ((uint id, var arrived) in _barriers.ToList())
        {
            bool waiting = false;
            for (int w = 0; w < _job.Workers && !waiting; w++)
            {
                bool expected = _live[w] || (!_done[w] && _time.GetElapsedTime(_deadSince[w], now) <= _job.ReplacementTimeout);
                waiting = expected && !arrived.Exists(a => NodeIds.WorkerRank(a.Sender) == w);
            }
            if (waiting)
                continue;
            foreach ((IConnection c, _) in arrived)
                _ = FrameOut.SendControl(c, new FrameHeader(MessageType.Barrier, Argument: id)).AsTask();
            _barriers.Remove(id);
            _releasedBarriers.Add(id);
        }
    }

    // What `psf status` shows: every node with its state, clock and when it was last heard from;
    // workers' request and byte rates from their last two progress reports; every table's chains.
    private Operations.ClusterStatus BuildStatus()
    {
        var nodes = new List<Operations.NodeStatus>();
        for (int s = 0; s < _servers.Count; s++)
        {
            (IConnection c, ServerInfo info) = _servers[s];
            bool dead = _deadServers.Contains(info.Id);
            // A drained server finished its part; a dead one failed.
            Operations.NodeState state = !dead ? Operations.NodeState.Live : _departed.Contains(info.Id) ? Operations.NodeState.Done : Operations.NodeState.Dead;
            (double requests, double bytes) = dead ? (0, 0) : _serverRates.Of(info.Id);
            nodes.Add(new Operations.NodeStatus((uint)info.Id, NodeRole.Server, s, info.Endpoint, state,
                0, dead ? double.NaN : _detector.SecondsSinceHeard(c), requests, bytes));
        }
        for (int w = 0; w < _workers.Count; w++)
        {
            IConnection? c = _workers[w];
            Operations.NodeState state = _done[w] ? Operations.NodeState.Done : _live[w] ? Operations.NodeState.Live : Operations.NodeState.Dead;
            (double requests, double bytes) = _rates.TryGetValue(w, out var r) ? (r.RequestsPerSecond, r.BytesPerSecond) : (0, 0);
            nodes.Add(new Operations.NodeStatus(NodeIds.Worker(w), NodeRole.Worker, w, c?.RemoteName ?? "-", state, _clocks[w],
                c is null ? double.NaN : _detector.SecondsSinceHeard(c), requests, bytes));
        }
        foreach (IConnection spare in _spares)
            nodes.Add(new Operations.NodeStatus(0, NodeRole.Worker, -1, spare.RemoteName, Operations.NodeState.Spare, 0, double.NaN, 0, 0));
        long[] liveClocks = [.. LiveClocks()];
        return new Operations.ClusterStatus
        {
            RangeMapVersion = _version,
            Servers = _job.Servers,
            Workers = _job.Workers,
            Replicas = _job.Replicas,
            JobClock = liveClocks.Length > 0 ? liveClocks.Min() : 0,
            LastCheckpointClock = _checkpoints?.LastCommitted ?? -1,
            Nodes = nodes,
            Tables = [.. _tables.Select(Operations.TableStatus.From)],
        };
    }

    // Per worker: the counters of its last progress report and the rates between the last two.
    private readonly Dictionary<int, (long At, double Requests, double Bytes, double RequestsPerSecond, double BytesPerSecond)> _rates = [];

    private void NoteRates(ProgressReport report)
    {
        if (!report.Metrics.TryGetValue("requests", out double requests) || !report.Metrics.TryGetValue("bytes_sent", out double bytes))
            return;
        long now = _time.GetTimestamp();
        if (_rates.TryGetValue(report.Worker, out var last) && _time.GetElapsedTime(last.At, now).TotalSeconds is double dt and > 0)
            _rates[report.Worker] = (now, requests, bytes, (requests - last.Requests) / dt, (bytes - last.Bytes) / dt);
        else
            _rates[report.Worker] = (now, requests, bytes, 0, 0);
    }

    // Servers' request and byte rates, from the load totals their heartbeats carry.
    private readonly Operations.ThroughputRates _serverRates;

    private void NoteServerLoad(IConnection connection, in Frame frame)
    {
        int server = frame.Extras.IsEmpty ? -1 : _servers.FindIndex(s => s.Connection == connection);
        if (server < 0)
            return;
        Operations.ServerLoad load = Operations.ServerLoad.Decode(frame.Extras);
        _serverRates.Note(_servers[server].Info.Id, load.Requests, load.BytesReceived + load.BytesSent);
    }

    // The clocks of the workers still in the job: live and not yet finished with their iterations.
    private IEnumerable<long> LiveClocks() =>
        Enumerable.Range(0, _job.Workers).Where(w => _live[w] && _clocks[w] < WorkerClient.FinishedClock).Select(w => _clocks[w]);

    private readonly Operations.NodeMetrics _metrics = new(NodeRole.Scheduler, 0);

    // The spread between the fastest and the slowest live, unfinished worker: how far bounded delay is stretched.
    private void NoteClockLag()
    {
        long[] live = [.. LiveClocks()];
        if (live.Length == 0)
            return;
        _metrics.SetClock(live.Min());
        _metrics.SetClockLag(live.Max() - live.Min());
    }

    private void Report(ProgressReport report)
    {
        if (report.Done)
            _logger.LogInformation("scheduler: worker {Rank} done", report.Worker);
        if (report.Worker < 0 || report.Worker >= _job.Workers)
            throw new ProtocolException($"progress from worker {report.Worker}; the job has {_job.Workers}");
        NoteRates(report);
        Progress?.Invoke(report);
        if (!report.Done)
            return;
        _done[report.Worker] = true;
        _checkpoints?.TryStart();
        FinishIfDone();
    }

    // The job is done when every shard has been worked through: by its worker, or by the
    // replacement of a dead one. A dead worker's shard waits for a replacement for at most
    // ReplacementTimeout, then the job ends without it (and says so).
    private void FinishIfDone()
    {
        if (_finished.Task.IsCompleted || _workers.Count < _job.Workers)
            return;
        bool liveDone = Enumerable.Range(0, _job.Workers).All(w => _done[w] || !_live[w]);
        if (!liveDone)
            return;
        int[] orphaned = [.. Enumerable.Range(0, _job.Workers).Where(w => !_live[w] && !_done[w])];
        if (orphaned.Length == 0)
        {
            Shutdown();
            return;
        }
        long now = _time.GetTimestamp();
        if (orphaned.All(w => _time.GetElapsedTime(_deadSince[w], now) > _job.ReplacementTimeout))
        {
            _logger.LogError("scheduler: no replacement came for worker(s) {Ranks} within {Timeout} s; finishing without their shards", string.Join(", ", orphaned), _job.ReplacementTimeout.TotalSeconds);
            Shutdown();
        }
    }

    private void Shutdown()
    {
        _livenessTimer?.Dispose();
        foreach ((IConnection c, _) in _servers)
            Send(c, MessageType.Shutdown, []);
        foreach (IConnection? w in _workers)
        {
            if (w is not null)
                Send(w, MessageType.Shutdown, []);
        }
        _finished.TrySetResult();
    }

    // A node silent past the heartbeat timeout is dead even if its connection looks open (a hung
    // process, a partition): it is treated exactly as one whose connection closed.
    private void CheckLiveness()
    {
        _silent.Clear();
        _detector.CollectDead(_silent);
        foreach (IConnection c in _silent)
        {
            _logger.LogWarning("scheduler: nothing heard from {Peer} for {Timeout} s", c.RemoteName, _job.HeartbeatTimeout.TotalSeconds);
            OnClosed(c, new TimeoutException($"no heartbeat from {c.RemoteName} for {_job.HeartbeatTimeout.TotalSeconds:0.###} s"));
        }
        _checkpoints?.CheckTimeout();
        if (_barriers.Count > 0)
            ReleaseBarriers(); // a dead worker's replacement may have timed out
        FinishIfDone();
    }

    private void OnClosed(IConnection connection, Exception? error)
    {
        _detector.Forget(connection);
        int server = _servers.FindIndex(s => s.Connection == connection);
        if (server >= 0 && _departed.Contains(_servers[server].Info.Id))
            _logger.LogInformation("scheduler: drained server {Rank} has left", server);
        else if (server >= 0 && !_finished.Task.IsCompleted)
            ServerLost(server, error);
        int worker = _workers.IndexOf(connection);
        if (worker >= 0 && !_done[worker] && !_finished.Task.IsCompleted)
        {
            // A worker that disappears stops holding the others back: the next map marks it dead,
            // and the servers drop it from every clock minimum.
            _logger.LogWarning("scheduler: worker {Rank} lost{Reason}", worker, error is null ? "" : $": {error.Message}");
            _live[worker] = false;
            _deadSince[worker] = _time.GetTimestamp();
            _workers[worker] = null;
            if (_spares.Count > 0)
            {
                IConnection spare = _spares[0];
                _spares.RemoveAt(0);
                Replace(spare);
            }
            else if (_ring is not null)
            {
                Publish();
            }
            ReleaseBarriers();
            _checkpoints?.TryStart();
        }
    }

    private RangeMap BuildMap() => new(_version, _job.Workers, [.. _live], [.. LiveServers.Select(s => s.Info)], [.. _tables]);

    private static void Send(IConnection connection, MessageType type, ReadOnlySpan<byte> extras, uint argument = 0) =>
        _ = FrameOut.SendControl(connection, new FrameHeader(type, SenderId: NodeIds.Scheduler, Argument: argument), extras).AsTask();

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        // Old checkpoints being removed: the job's folder is left as the policy says (bounded).
        if (_checkpoints is not null)
            await _checkpoints.Pruned.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        _metrics.Dispose();
        if (_livenessTimer is not null)
            await _livenessTimer.DisposeAsync().ConfigureAwait(false);
        if (_listener is not null)
            await _listener.DisposeAsync().ConfigureAwait(false);
        // Stop the inbox thread first: it owns the node lists, and closing connections below
        // would otherwise have it change them while they are being walked.
        _inbox.Dispose();
        foreach (IConnection c in _servers.Select(s => s.Connection).Concat(_workers.OfType<IConnection>()).Concat(_spares).ToList())
            await c.DisposeAsync().ConfigureAwait(false);
    }
}
