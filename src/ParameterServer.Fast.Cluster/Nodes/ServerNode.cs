using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ParameterServer.Fast.Cluster.Checkpoints;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Keys;
using ParameterServer.Fast.Codec.Values;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// A server: registers with the scheduler, creates the tables of the ranges the range map gives
/// it, applies pushes through each table's updater and answers pulls once the consistency they ask
/// for holds. Every frame of every connection is handled on one inbox thread, which owns the
/// tables: no locks on the data path. A bad request fails that request with an Error frame naming
/// what was wrong; the server and every other worker carry on.
/// </summary>
public sealed partial class ServerNode : IAsyncDisposable
{
    private readonly ITransport _transport;
    private readonly Endpoint _listenAt;
    private readonly Endpoint _scheduler;
    private readonly ILogger _logger;
    private readonly Inbox _inbox;
    private readonly FrameDecoder _decoder = new();
    private readonly Dictionary<uint, ServerTable> _tables = [];
    // The key lists each worker connection asked this server to remember (the paper's key caching).
    private readonly Dictionary<IConnection, KeyCache> _keyCaches = [];
    private readonly TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(PendingPull Request, long Waited)> _released = [];
    private readonly List<(Table Table, int Start, int Length)> _slices = [];
    private IListener? _listener;
    private IConnection? _schedulerConnection;
    private RangeMap? _map;
    private uint _nodeId;
    private readonly string? _advertise;
    private readonly System.Collections.Concurrent.ConcurrentBag<IConnection> _accepted = [];
    private ulong[] _keyBuffer = new ulong[1024];
    // Chain replication: connections to successors, updates in flight down the chains, and the
    // (worker, request) pairs applied, so a retry after a failover is not applied twice.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, IConnection> _peers = new();
    private readonly ChainForwards _forwards = new();
    private readonly AppliedRequests _applied = new();
    private readonly Replication.ReplicationBatcher _batcher;
    private float[] _valueBuffer = new float[1024];

    /// <param name="advertise">The host workers should dial, when the listen address is a wildcard (0.0.0.0, ::).</param>
    /// <param name="replicationBatch">Pushes of one range replicated together at most (see <see cref="Replication.ReplicationBatcher"/>).</param>
    public ServerNode(ITransport transport, Endpoint listenAt, Endpoint scheduler, ILogger? logger = null, string? advertise = null,
        int replicationBatch = DefaultReplicationBatch)
    {
        _batcher = new Replication.ReplicationBatcher(replicationBatch);
        _advertise = advertise;
        _transport = transport;
        _listenAt = listenAt;
        _scheduler = scheduler;
        _logger = logger ?? NullLogger.Instance;
        _inbox = new Inbox("psf-server", _logger, OnFrame, OnClosed, FlushBatches);
    }

    public int Rank { get; private set; } = -1;

    /// <summary>
    /// This server's view of the job's checkpoint root (<c>--checkpoint-dir</c>), when it differs
    /// from the scheduler's (another mount point of the same shared folder); null uses the scheduler's path.
    /// </summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>
    /// The failure domain this server shares with others that fail with it ("" for one of its
    /// own): the shards of one `psf server --shards S` process name the same one, so the scheduler
    /// never puts two copies of a range into it.
    /// </summary>
    public string FailureDomain { get; init; } = "";

    /// <summary>The byte budget of the key lists remembered per worker connection (least recently used evicted first).</summary>
    public long KeyCacheBytes
    {
        get => _keyCacheBytes;
        init => _keyCacheBytes = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(KeyCacheBytes), value, "a key cache budget cannot be negative");
    }

    private readonly long _keyCacheBytes = KeyCache.DefaultCapacityBytes;

    // The checkpoint the job resumes from: each table is filled from it when first declared.
    private (long Clock, string Folder, CheckpointManifest Manifest)? _resume;

    /// <summary>Completes when the scheduler shuts the job down or the scheduler is lost.</summary>
    public Task Stopped => _stopped.Task;

    /// <summary>Pushes applied and pulls answered (for progress and tests).</summary>
    public long PushesApplied { get; private set; }

    public long PullsAnswered { get; private set; }

    /// <summary>Seconds pulls spent held back by the bounded-delay gate, summed.</summary>
    public double ConsistencyWaitSeconds { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = _transport.Listen(_listenAt);
        _ = Task.Run(AcceptLoop, CancellationToken.None);
        _schedulerConnection = await _transport.ConnectAsync(_scheduler, cancellationToken).ConfigureAwait(false);
        _schedulerConnection.Start(_inbox);
        await FrameOut.SendControl(_schedulerConnection, new FrameHeader(MessageType.Register),
            ControlMessages.Encode(new RegisterRequest(NodeRole.Server, AdvertisedEndpoint().ToString(), FailureDomain))).ConfigureAwait(false);
        await _registered.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        _heartbeat = new Membership.Heartbeat(_schedulerConnection, () => _nodeId, HeartbeatInterval,
            () => _metrics is { } m ? Operations.ServerLoad.From(m).Encode() : []);
    }

    /// <summary>How often this server tells the scheduler it is alive.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    private Membership.Heartbeat? _heartbeat;

    private Endpoint AdvertisedEndpoint()
    {
        Endpoint local = _listener!.LocalEndpoint;
        if (_advertise is not null)
            return local with { Host = _advertise };
        return local.Host is "0.0.0.0" or "::" ? local with { Host = local.Host == "::" ? "::1" : "127.0.0.1" } : local;
    }

    private async Task AcceptLoop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                IConnection connection = await _listener!.AcceptAsync(_stop.Token).ConfigureAwait(false);
                _accepted.Add(connection);
                connection.Start(_inbox);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionClosedException or System.Threading.Channels.ChannelClosedException)
        {
            // Stopping.
        }
    }

    private Operations.NodeMetrics? _metrics;

    private void OnFrame(IConnection connection, ReadOnlySpan<byte> bytes)
    {
        _metrics?.Traffic(Operations.TrafficDirection.Received, bytes.Length);
        _metrics?.SetQueueDepth(Operations.QueueKind.Inbox, _inbox.Depth);
        if (_inbox.CurrentQueuedTicks > 0)
            _metrics?.Waited(Operations.WaitCause.Queue, _inbox.CurrentQueuedTicks / (double)Stopwatch.Frequency);
        Frame frame;
        try
        {
            frame = _decoder.Read(bytes);
        }
        catch (ProtocolException e)
        {
            _logger.LogWarning("server {Rank}: bad frame from {Peer}: {Message}", Rank, connection.RemoteName, e.Message);
            _ = CloseAfterError(connection, $"server {Rank}: bad frame: {e.Message}");
            return;
        }
        try
        {
            switch (frame.Type)
            {
                case MessageType.Register:
                    RegisterReply reply = ControlMessages.DecodeRegisterReply(frame.Extras);
                    _nodeId = (uint)reply.NodeId;
                    Rank = reply.Rank;
                    _metrics ??= new Operations.NodeMetrics(NodeRole.Server, Rank);
                    break;
                case MessageType.RangeMap:
                    ApplyMap(connection, ControlMessages.DecodeRangeMap(frame.Extras));
                    break;
                case MessageType.Push:
                    Push(connection, frame);
                    break;
                case MessageType.Replicate:
                    ReceiveRows(connection, bytes, frame);
                    break;
                case MessageType.ReplicateAck:
                    if (_forwards.TryTake(frame.RequestId, out ChainForward? done))
                        AckUpstream(done!);
                    break;
                case MessageType.Pull:
                    Pull(connection, frame);
                    break;
                case MessageType.Clock:
                    AdvanceClock(frame);
                    break;
                case MessageType.CheckpointWrite:
                    FromScheduler(connection, frame.Type);
                    WriteCheckpoint(connection, frame.Clock, CheckpointMessages.DecodeFolder(frame.Extras));
                    break;
                case MessageType.CheckpointRestore:
                    FromScheduler(connection, frame.Type);
                    ResumeFrom(connection, frame.Clock, CheckpointMessages.DecodeFolder(frame.Extras));
                    break;
                case MessageType.Shutdown:
                    Stop();
                    break;
                case MessageType.Heartbeat:
                    break;
                case MessageType.Error when connection == _schedulerConnection && _nodeId == 0:
                    // The scheduler refused to register this server (a full job, or a running job
                    // without replicas): say why and stop, rather than answer the error with one.
                    string refusal = FrameDecoder.ErrorMessage(frame);
                    _logger.LogError("server: the scheduler refused to register this server: {Message}", refusal);
                    _registered.TrySetException(new InvalidOperationException($"the scheduler refused to register this server: {refusal}"));
                    Stop();
                    break;
                case MessageType.Error when connection != _schedulerConnection:
                    // A peer server refused something this one sent (rows it could not take): say
                    // so, never answer an error with an error, or two servers would trade them forever.
                    _logger.LogWarning("server {Rank}: {Peer} refused request {Request}: {Message}", Rank, connection.RemoteName, frame.RequestId, FrameDecoder.ErrorMessage(frame));
                    break;
                case MessageType.RangeTransfer:
                    StartRangeCopy(frame);
                    break;
                case MessageType.RangeRows:
                    ReceiveRangeCopy(frame);
                    break;
                default:
                    throw new ProtocolException($"a server does not take {frame.Type} frames");
            }
        }
        catch (Exception e) when (e is ArgumentException or ProtocolException or InvalidOperationException or KeyNotFoundException)
        {
            // The request fails; the tables are untouched or consistently updated.
            _ = FrameOut.SendError(connection, _nodeId, frame.RequestId, frame.TableId, $"server {Rank}: {e.Message}");
        }
    }

    // A frame that cannot be decoded has no request to fail (its request id cannot be trusted), so
    // its peer would wait forever: say why, then close that one connection (DESIGN, "Wire frames").
    private async Task CloseAfterError(IConnection connection, string message)
    {
        try
        {
            await FrameOut.SendError(connection, _nodeId, 0, 0, message).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The peer is gone already.
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void ApplyMap(IConnection scheduler, RangeMap map)
    {
        if (_map is not null && map.Version <= _map.Version)
            return;
        // Batches close under the map their pushes were applied under; RerouteForwards below
        // sends them on under the new one.
        FlushBatches();
        _map = map;
        foreach (TableLayout layout in map.Tables)
        {
            bool created = !_tables.TryGetValue(layout.Id, out ServerTable? table);
            if (created)
                _tables[layout.Id] = table = new ServerTable(layout, map.Workers);
            table!.Apply(layout, (int)_nodeId);
            // A resumed job's table is filled before this map is acknowledged: no worker can
            // push or pull it before it holds the checkpoint's rows.
            if (created && _resume is not null && !Restore(scheduler, table))
                return;
            for (int w = 0; w < map.Workers; w++)
            {
                if (!map.LiveWorkers[w] && table.Clocks.IsLive(w))
                    table.Clocks.RemoveWorker(w);
                else if (map.LiveWorkers[w] && !table.Clocks.IsLive(w))
                    table.Clocks.ReviveWorker(w);
            }
            MoveHeldPulls(table);
            ReleasePulls(table);
        }
        _joiners.Prune(map, (int)_nodeId);
        _copies.Settle(map, (int)_nodeId);
        RerouteForwards();
        TakeEarlyRows();
        // The map is acknowledged once this server is connected to every successor it forwards
        // to: only then does the scheduler let workers push under it.
        _ = AckMapWhenConnectedAsync(scheduler, map);
    }

    private async Task AckMapWhenConnectedAsync(IConnection scheduler, RangeMap map)
    {
        try
        {
            foreach (int successor in Successors(map))
            {
                if (_peers.ContainsKey(successor))
                    continue;
                string endpoint = map.Servers.First(s => s.Id == successor).Endpoint;
                IConnection peer = await _transport.ConnectAsync(Endpoint.Parse(endpoint), _stop.Token).ConfigureAwait(false);
                peer.Start(_inbox);
                _accepted.Add(peer);
                // One connection per peer: a range copy and the updates after it must share one.
                if (!_peers.TryAdd(successor, peer))
                    await peer.DisposeAsync().ConfigureAwait(false);
            }
            _inbox.Post(RerouteForwards);
            await FrameOut.SendControl(scheduler, new FrameHeader(MessageType.RangeMap, SenderId: _nodeId, Argument: map.Version)).ConfigureAwait(false);
            _registered.TrySetResult();
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            // A successor that cannot be reached is dead or dying: the scheduler's next map says so.
            _logger.LogWarning("server {Rank}: range map {Version}: {Message}", Rank, map.Version, e.Message);
        }
    }

    // The servers this one passes updates to: its successor in every chain it belongs to.
    private IEnumerable<int> Successors(RangeMap map) =>
        map.Tables.SelectMany(t => t.Ranges).Select(a => Successor(a)).OfType<int>().Distinct();

    private int? Successor(RangeAssignment part)
    {
        int position = Array.IndexOf(part.Chain, (int)_nodeId);
        return position >= 0 && position + 1 < part.Chain.Length ? part.Chain[position + 1] : null;
    }

    // Files are written and read where the scheduler says: no other peer may name a path.
    private void FromScheduler(IConnection connection, MessageType type)
    {
        if (connection != _schedulerConnection)
            throw new ProtocolException($"{type} comes from the scheduler only, not from {connection.RemoteName}");
    }

    // The scheduler's cut: every push before the clock is applied and none after it can arrive
    // (every worker waits), so the file written here on the inbox thread is the state at the clock.
    private void WriteCheckpoint(IConnection scheduler, long clock, string schedulerRoot)
    {
        string root = CheckpointDirectory ?? schedulerRoot;
        long started = Stopwatch.GetTimestamp();
        CheckpointWriteResult result;
        try
        {
            CheckpointFileInfo file = ServerCheckpoints.Write(root, clock, (int)_nodeId, _map?.Version ?? 0, _tables.Values);
            result = CheckpointWriteResult.Written(file);
            _logger.LogInformation("server {Rank}: checkpoint at clock {Clock}: {Bytes} bytes in {Seconds:0.000} s", Rank, clock, file.Length, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            _logger.LogError("server {Rank}: checkpoint at clock {Clock} not written: {Message}", Rank, clock, e.Message);
            result = CheckpointWriteResult.Failed(e.Message);
        }
        _ = FrameOut.SendControl(scheduler, new FrameHeader(MessageType.CheckpointWritten, 0, _nodeId, 0, clock), CheckpointMessages.Encode(result)).AsTask();
    }

    private void ResumeFrom(IConnection scheduler, long clock, string schedulerFolder)
    {
        string folder = CheckpointDirectory is { } own ? Path.Combine(own, CheckpointStore.FolderName(clock)) : schedulerFolder;
        try
        {
            string manifestPath = Path.Combine(folder, CheckpointStore.ManifestName);
            if (!File.Exists(manifestPath))
                throw new CheckpointCorruptException(manifestPath, -1, "no manifest: the checkpoint never finished, or this server sees another folder than the scheduler (set its --checkpoint-dir)");
            CheckpointManifest manifest = CheckpointManifest.Parse(File.ReadAllBytes(manifestPath), manifestPath);
            if (manifest.Clock != clock)
                throw new CheckpointCorruptException(manifestPath, -1, $"the manifest is of clock {manifest.Clock}, the scheduler resumes from {clock}");
            _resume = (clock, folder, manifest);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RestoreFailed(scheduler, e.Message);
        }
    }

    // Fills a newly declared table from the checkpoint and starts every worker's clock at the
    // checkpoint's, where the workers resume. False (after telling the scheduler) if it failed.
    private bool Restore(IConnection scheduler, ServerTable table)
    {
        (long clock, string folder, CheckpointManifest manifest) = _resume!.Value;
        long started = Stopwatch.GetTimestamp();
        try
        {
            bool found = ServerCheckpoints.Restore(folder, manifest, table);
            if (found)
                _logger.LogInformation("server {Rank}: table '{Table}' restored from the checkpoint at clock {Clock} in {Seconds:0.000} s", Rank, table.Layout.Spec.Name, clock, Stopwatch.GetElapsedTime(started).TotalSeconds);
            else
                _logger.LogWarning("server {Rank}: the checkpoint at clock {Clock} has no table '{Table}'; it starts empty", Rank, clock, table.Layout.Spec.Name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            RestoreFailed(scheduler, e.Message);
            return false;
        }
        for (int w = 0; w < table.Clocks.Workers; w++)
            table.Clocks.Advance(w, table.Layout.Spec.Range, clock);
        return true;
    }

    private void RestoreFailed(IConnection scheduler, string message)
    {
        _logger.LogError("server {Rank}: cannot resume: {Message}", Rank, message);
        _ = FrameOut.SendControl(scheduler, new FrameHeader(MessageType.CheckpointRestoreFailed, 0, _nodeId), System.Text.Encoding.UTF8.GetBytes(message)).AsTask();
    }

    private ServerTable TableOf(in Frame frame) =>
        _tables.TryGetValue(frame.TableId, out ServerTable? t)
            ? t
            : throw new KeyNotFoundException($"unknown table id {frame.TableId} (range map version {_map?.Version ?? 0})");

    // A worker's push: applied once per (worker, request id) however often it arrives (with
    // replicas), then batched for the range's chain (ServerNode.Replication.cs); acknowledged at
    // once without replicas, and once the chain's tail holds the rows otherwise.
    private void Push(IConnection connection, in Frame frame)
    {
        long started = Stopwatch.GetTimestamp();
        ServerTable table = TableOf(frame);
        int width = table.Layout.Spec.Width;
        // Raw values are applied where they arrived (the transport's buffer or the shm ring);
        // only LZ4'd or quantised ones are decoded first.
        ReadOnlySpan<float> values = RawOrDecoded(frame);
        scoped ReadOnlySpan<ulong> keys = default;
        KeyRange? range = frame.TryGetKeyRange(out KeyRange r) ? r : null;
        if (range is null && !TryDecodeKeys(connection, frame, out keys))
            return;
        CheckValueCount(table, (range is { } rr ? (long)rr.Size : keys.Length) * width, frame.ValueCount);
        RangeAssignment part = table.Layout.Ranges[table.Layout.PartOf(range?.Begin ?? (keys.IsEmpty ? 0 : keys[0]))];
        if (part.Primary != (int)_nodeId || (table.Replicated && !part.Range.Contains(Span(range, keys))))
        {
            // The range moved, or was split since the worker sliced this request: it resends
            // under the new map with the same request id.
            SendMoved(connection, frame.TableId, frame.RequestId);
            return;
        }
        if (!table.Replicated || _applied.TryRecord(frame.SenderId, frame.RequestId, frame.TableId, part.Range.Begin))
        {
            if (range is { } whole)
                PushRange(table, whole, values);
            else
                PushKeys(table, frame, keys, values);
            PushesApplied++;
        }
        _metrics?.RequestHandledSince(Operations.RequestKind.Push, started);
        if (ForwardTo(frame.TableId, part) is not null)
            Batch(table, part, range, keys, new ChainUpstream(connection, frame.RequestId, started), frame.SenderId);
        else
            AckPush(connection, frame.TableId, frame.RequestId, started);
    }

    private static KeyRange Span(KeyRange? range, ReadOnlySpan<ulong> keys) =>
        range ?? (keys.IsEmpty ? default : new KeyRange(keys[0], keys[^1] == ulong.MaxValue ? ulong.MaxValue : keys[^1] + 1));

    private void PushRange(ServerTable table, KeyRange range, ReadOnlySpan<float> values)
    {
        int width = table.Layout.Spec.Width;
        table.CheckHeld(range);
        foreach ((KeyRange part, Table t) in table.Parts)
        {
            KeyRange overlap = part.Intersect(range);
            if (overlap.IsEmpty)
                continue;
            if (t is not DenseTable dense)
                throw new ArgumentException($"table '{table.Layout.Spec.Name}' is sparse: push keys, not a range");
            dense.PushRange(overlap, values.Slice((int)(overlap.Begin - range.Begin) * width, (int)overlap.Size * width));
        }
    }

    private void PushKeys(ServerTable table, in Frame frame, ReadOnlySpan<ulong> keys, ReadOnlySpan<float> values)
    {
        int width = table.Layout.Spec.Width;
        if (frame.HasCachedKeys && table.Slots.TryGet(frame.KeySignature, keys.Length, out Table cachedPart, out int[] cachedSlots))
        {
            cachedPart.PushSlots(cachedSlots, values);
            return;
        }
        KeySet.Validate(keys);
        table.Slice(keys, _slices);
        if (frame.HasCachedKeys && _slices.Count == 1)
        {
            // A list the worker repeats: resolve once, remember the slots.
            Table part = _slices[0].Table;
            int[] slots = new int[keys.Length];
            part.ResolveSlots(keys, slots, create: true);
            part.PushSlots(slots, values);
            table.Slots.Add(frame.KeySignature, part, slots);
            return;
        }
        foreach ((Table t, int start, int length) in _slices)
            t.Push(keys.Slice(start, length), values.Slice(start * width, length * width));
    }

    private void AckPush(IConnection worker, uint tableId, ulong requestId, long started)
    {
        Span<byte> extras = stackalloc byte[ServerTiming.Size];
        new ServerTiming(ServerTiming.Micros(_inbox.CurrentQueuedTicks + Stopwatch.GetTimestamp() - started), 0).WriteTo(extras);
        _metrics?.Traffic(Operations.TrafficDirection.Sent, FrameLayout.HeaderSize + ServerTiming.Size);
        _ = FrameOut.SendControl(worker, new FrameHeader(MessageType.PushAck, tableId, _nodeId, requestId), extras);
    }

    private ReadOnlySpan<float> RawOrDecoded(in Frame frame)
    {
        if (frame.TryGetRawValues(out ReadOnlySpan<float> raw))
            return raw;
        float[] values = Rent(ref _valueBuffer, frame.ValueCount);
        FrameDecoder.DecodeValues(frame, values);
        return values.AsSpan(0, frame.ValueCount);
    }

    private void Pull(IConnection connection, in Frame frame)
    {
        long started = Stopwatch.GetTimestamp();
        ServerTable table = TableOf(frame);
        var consistency = new Consistency.Consistency((int)Math.Min(frame.Argument, int.MaxValue));
        KeyRange? range = frame.TryGetKeyRange(out KeyRange r) ? r : null;
        scoped ReadOnlySpan<ulong> keys = default;
        KeyRange clockRange;
        if (range is null)
        {
            if (!TryDecodeKeys(connection, frame, out keys))
                return;
            KeySet.Validate(keys);
            clockRange = ClockRange(table, keys);
        }
        else
        {
            clockRange = range.Value;
        }
        if (!table.Layout.Ranges[table.Layout.PartOf(range?.Begin ?? (keys.IsEmpty ? 0 : keys[0]))].Chain.Contains((int)_nodeId))
        {
            // Rows this server no longer replicates may be stale: the worker asks the range's server.
            SendMoved(connection, frame.TableId, frame.RequestId);
            return;
        }
        if (range is { } whole)
            table.CheckHeld(whole);
        // Answered at once when the consistency holds (the common case: no copy of the keys);
        // otherwise the keys are kept and the pull waits in the gate for the slower workers.
        if (table.Gate.IsReady(clockRange, frame.Clock, consistency))
        {
            KeySignature? signature = frame.HasCachedKeys ? frame.KeySignature : null;
            Answer(table, connection, frame.RequestId, keys, range, signature, clockRange, _inbox.CurrentQueuedTicks, 0, started);
            return;
        }
        var pending = new PendingPull(connection, frame.RequestId, frame.SenderId, range is null ? keys.ToArray() : null, range, Stopwatch.GetTimestamp());
        table.Gate.Admit(pending, clockRange, frame.Clock, consistency, Stopwatch.GetTimestamp());
        _metrics?.SetQueueDepth(Operations.QueueKind.HeldPulls, _tables.Values.Sum(t => t.Gate.WaitingCount));
    }

    private static KeyRange ClockRange(ServerTable table, ReadOnlySpan<ulong> keys) =>
        keys.IsEmpty ? table.Layout.Spec.Range : new KeyRange(keys[0], keys[^1] == ulong.MaxValue ? ulong.MaxValue : keys[^1] + 1);

    private void Answer(ServerTable table, PendingPull pull, long waited) =>
        Answer(table, pull.Connection, pull.RequestId, pull.Keys, pull.Range, null, pull.Range ?? ClockRange(table, pull.Keys),
            0, waited, Stopwatch.GetTimestamp());

    // The answer is read from the table straight into the frame buffer: one copy, table → frame.
    // Its clock field carries the least clock of the range, so the worker knows how fresh it is.
    private void Answer(ServerTable table, IConnection connection, ulong requestId, ReadOnlySpan<ulong> keys, KeyRange? pullRange,
        KeySignature? signature, KeyRange clockRange, long queuedTicks, long gateTicks, long started)
    {
        int width = table.Layout.Spec.Width;
        int count = checked((int)(pullRange is { } pr ? (long)pr.Size * width : (long)keys.Length * width));
        long freshness = table.Clocks.MinimumClock(clockRange);
        var header = new FrameHeader(MessageType.PullResponse, table.Layout.Id, _nodeId, requestId, freshness == long.MaxValue ? 0 : freshness);
        if (pullRange is { } inPlace && TryAnswerFromSlab(table, connection, header, inPlace, count, queuedTicks, gateTicks, started))
            return;
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(FrameLayout.MaxFrameLength(0, count, ServerTiming.Size));
        int length;
        try
        {
            var writer = FrameWriter.Claim(buffer.Span, header);
            Span<float> values = writer.ReserveRawValues(count);
            ReadInto(table, keys, pullRange, signature, values);
            Span<byte> extras = stackalloc byte[ServerTiming.Size];
            new ServerTiming(ServerTiming.Micros(queuedTicks + Stopwatch.GetTimestamp() - started), ServerTiming.Micros(gateTicks)).WriteTo(extras);
            writer.WriteExtras(extras);
            length = writer.Commit();
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
        NoteAnswered(length, gateTicks, started);
        _ = FrameOut.Send(connection, buffer, length);
    }

    private void ReadInto(ServerTable table, ReadOnlySpan<ulong> keys, KeyRange? pullRange, KeySignature? signature, Span<float> values)
    {
        int width = table.Layout.Spec.Width;
        if (pullRange is { } range)
        {
            foreach ((KeyRange part, Table t) in table.Parts)
            {
                KeyRange overlap = part.Intersect(range);
                if (overlap.IsEmpty)
                    continue;
                if (t is not DenseTable dense)
                    throw new ArgumentException($"table '{table.Layout.Spec.Name}' is sparse: pull keys, not a range");
                dense.PullRange(overlap, values.Slice((int)(overlap.Begin - range.Begin) * width, (int)overlap.Size * width));
            }
            return;
        }
        if (signature is { } sig && table.Slots.TryGet(sig, keys.Length, out Table cachedPart, out int[] cachedSlots))
        {
            cachedPart.ReadSlots(keys, cachedSlots, values);
            return;
        }
        table.Slice(keys, _slices);
        if (signature is { } s && _slices.Count == 1)
        {
            Table part = _slices[0].Table;
            int[] slots = new int[keys.Length];
            part.ResolveSlots(keys, slots, create: false);
            part.ReadSlots(keys, slots, values);
            // Keys not yet in the table read their initial value (slot −1): only a list that
            // resolved completely is remembered, or a later push to those keys would go unseen.
            if (Array.IndexOf(slots, -1) < 0)
                table.Slots.Add(s, part, slots);
            return;
        }
        foreach ((Table t, int start, int length) in _slices)
            t.Pull(keys.Slice(start, length), values.Slice(start * width, length * width));
    }

    private void AdvanceClock(in Frame frame)
    {
        if (!NodeIds.IsWorker(frame.SenderId))
            throw new ProtocolException($"clock from node {frame.SenderId}, which is not a worker");
        int worker = NodeIds.WorkerRank(frame.SenderId);
        foreach (ServerTable table in _tables.Values)
        {
            if (frame.TableId != 0 && frame.TableId != table.Layout.Id)
                continue;
            if (worker >= table.Clocks.Workers)
                throw new ProtocolException($"clock from worker {worker}; the job has {table.Clocks.Workers}");
            table.Clocks.Advance(worker, table.Layout.Spec.Range, frame.Clock);
            ReleasePulls(table);
        }
        NoteClocks(frame.Clock);
    }

    // psf_clock: the slowest live worker over this server's tables; psf_clock_lag: how far the
    // fastest unfinished worker it has heard of is ahead of that.
    private long _fastestClock;

    private void NoteClocks(long clock)
    {
        if (_metrics is null || _tables.Count == 0)
            return;
        if (clock < WorkerClient.FinishedClock)
            _fastestClock = Math.Max(_fastestClock, clock);
        long slowest = _tables.Values.Min(t => t.Clocks.MinimumClock(t.Layout.Spec.Range));
        if (slowest >= WorkerClient.FinishedClock)
            return;
        _metrics.SetClock(slowest);
        _metrics.SetClockLag(Math.Max(0, _fastestClock - slowest));
    }

    private readonly List<PendingPull> _movedPulls = [];

    // Pulls held by bounded delay for a range this server no longer replicates (moved, drained,
    // or split across chains) would be answered from rows that miss later pushes: their workers
    // are told "moved" and ask the range's new server, as a pull arriving now would be.
    private void MoveHeldPulls(ServerTable table)
    {
        if (table.Gate.WaitingCount == 0)
            return;
        _movedPulls.Clear();
        table.Gate.Evict(pull =>
        {
            KeyRange span = pull.Range ?? ClockRange(table, pull.Keys);
            RangeAssignment part = table.Layout.Ranges[table.Layout.PartOf(span.Begin)];
            return !part.Chain.Contains((int)_nodeId) || !part.Range.Contains(span);
        }, _movedPulls);
        foreach (PendingPull pull in _movedPulls)
            SendMoved(pull.Connection, table.Layout.Id, pull.RequestId);
    }

    private void ReleasePulls(ServerTable table)
    {
        if (table.Gate.WaitingCount == 0)
            return;
        _released.Clear();
        table.Gate.Release(_released, Stopwatch.GetTimestamp());
        _metrics?.SetQueueDepth(Operations.QueueKind.HeldPulls, _tables.Values.Sum(t => t.Gate.WaitingCount));
        foreach ((PendingPull pull, long waited) in _released)
        {
            ConsistencyWaitSeconds += waited / (double)Stopwatch.Frequency;
            try
            {
                Answer(table, pull, waited);
            }
            catch (ArgumentException e)
            {
                _ = FrameOut.SendError(pull.Connection, _nodeId, pull.RequestId, table.Layout.Id, $"server {Rank}: {e.Message}");
            }
        }
    }

    // Keys of a push or pull: in the frame, or named by signature from this connection's cache. On a
    // miss the worker is asked for the full list and this request is dropped (it will come again).
    private bool TryDecodeKeys(IConnection connection, in Frame frame, out ReadOnlySpan<ulong> keys)
    {
        if (!_keyCaches.TryGetValue(connection, out KeyCache? cache))
            _keyCaches[connection] = cache = new KeyCache(KeyCacheBytes);
        ulong[] buffer = Rent(ref _keyBuffer, frame.HasCachedKeys ? 0 : frame.KeyCount);
        if (_decoder.DecodeKeys(frame, buffer, cache, out keys) != KeyResolution.CacheMiss)
            return true;
        _ = FrameOut.SendKeyListRequest(connection, new FrameHeader(MessageType.KeyListRequest, frame.TableId, _nodeId, frame.RequestId),
            frame.KeySignature, frame.KeyCount);
        return false;
    }

    private static void CheckValueCount(ServerTable table, long expected, int actual)
    {
        if (expected != actual)
            throw new ArgumentException($"table '{table.Layout.Spec.Name}' (width {table.Layout.Spec.Width}) needs {expected} values, the request has {actual}");
    }

    private static T[] Rent<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
            buffer = new T[Math.Max(length, buffer.Length * 2)];
        return buffer;
    }

    private void OnClosed(IConnection connection, Exception? error)
    {
        _keyCaches.Remove(connection);
        _earlyRows.Forget(connection);
        foreach ((int id, IConnection peer) in _peers)
        {
            if (peer == connection)
                _peers.TryRemove(id, out _);
        }
        if (connection == _schedulerConnection)
        {
            _logger.LogInformation("server {Rank}: scheduler connection ended{Reason}", Rank, error is null ? "" : $": {error.Message}");
            Stop();
        }
    }

    private void Stop()
    {
        _heartbeat?.Dispose();
        _metrics?.Dispose();
        _stop.Cancel();
        _stopped.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        Stop();
        if (_listener is not null)
            await _listener.DisposeAsync().ConfigureAwait(false);
        if (_schedulerConnection is not null)
            await _schedulerConnection.DisposeAsync().ConfigureAwait(false);
        _inbox.Dispose();
        foreach (IConnection c in _accepted)
            await c.DisposeAsync().ConfigureAwait(false);
        foreach (ServerTable t in _tables.Values)
            t.Dispose();
    }
}
