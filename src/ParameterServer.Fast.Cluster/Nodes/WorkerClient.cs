using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Values;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>A declared table as a worker sees it.</summary>
public sealed record TableHandle(uint Id, TableSpec Spec);

/// <summary>
/// The worker's client of the parameter server (ps-lite's KVWorker): declare tables, then push
/// and pull sorted unique key sets or dense ranges. Each call slices its keys by the range map
/// without copying, sends one frame per server, and returns a task that completes when every
/// server answered, so many requests can be in flight. Pulls carry the worker's clock and the
/// consistency asked for; <see cref="AdvanceClockAsync"/> ends an iteration. Errors name the
/// table, the range and the server.
/// </summary>
public sealed partial class WorkerClient : IAsyncDisposable
{
    private readonly ITransport _transport;
    private readonly ILogger _logger;
    private readonly FrameDecoder _schedulerDecoder = new();
    private readonly PendingRequests _pending = new();
    // Started once connected, so a client that never connects leaves no thread behind.
    private TicketCompletions _completions = null!;

    /// <summary>
    /// Whether the continuations of this client's requests run right on the receive thread that
    /// brought the answer even where the transport cannot lend that thread (off by default). Over
    /// shared memory they always do: that transport lends the thread and has another take over
    /// receiving when user code keeps it (see ReceiveThread). Elsewhere, by default, they run on a
    /// completion thread of the client's own, or the pool. Only for callers whose continuations
    /// never block and stay short: over TCP a continuation that waits synchronously for another
    /// request of this client, or that sends while the peer's buffers are full and the peer is
    /// sending to us, holds up the very thread that would unblock it, and the connection
    /// deadlocks; a long one delays every answer behind it on that connection.
    /// </summary>
    public bool InlineContinuations
    {
        get => _completions.Inline;
        set => _completions.Inline = value;
    }
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, ServerLink> _servers = new();
    // Servers whose connection ended, with when (Stopwatch ticks): their requests wait for a map
    // that gives their ranges a new primary, for at most FailoverTimeout.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, long> _lostServers = new();
    private Timer? _failoverTimer;
    private volatile bool _replicated;
    private volatile bool _disposing;
    private long _lostAt;
    private readonly TaskCompletionSource<RangeMap> _firstMap = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<ulong, TaskCompletionSource<RangeMap>> _declares = [];
    private readonly Dictionary<uint, TaskCompletionSource> _barriers = [];
    private readonly object _lock = new();
    private IConnection _scheduler = null!;
    private volatile RangeMap? _map;
    private long _declareIds;

    private WorkerClient(ITransport transport, ILogger logger, bool keyCaching)
    {
        _transport = transport;
        _logger = logger;
        KeyCaching = keyCaching;
    }

    public int Rank { get; private set; } = -1;

    public uint NodeId { get; private set; }

    public int Workers => Map.Workers;

    public RangeMap Map => _map ?? throw new InvalidOperationException("not connected");

    /// <summary>This worker's iteration clock: raised by <see cref="AdvanceClockAsync"/>.</summary>
    public long Clock { get; private set; }

    /// <summary>Completes when the scheduler ends the job.</summary>
    public Task ShutdownRequested => _shutdown.Task;

    /// <summary>This worker's instruments (exported when the process runs a metrics endpoint).</summary>
    internal Operations.NodeMetrics? Metrics { get; private set; }

    /// <summary>Where this worker's requests waited, by cause.</summary>
    public WaitBreakdown Waits { get; } = new();

    /// <summary>Bytes of frames sent to servers.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    private long _bytesSent;

    /// <summary>Whether repeated key lists travel as 16-byte signatures (the paper's key caching).</summary>
    public bool KeyCaching { get; }

    /// <summary>Key lists resent in full because a server's cache had dropped them.</summary>
    public long KeyCacheMisses => Interlocked.Read(ref _keyCacheMisses);

    private long _keyCacheMisses;

    public static async Task<WorkerClient> ConnectAsync(ITransport transport, Endpoint scheduler, ILogger? logger = null, CancellationToken cancellationToken = default, bool keyCaching = true, TimeSpan? heartbeatInterval = null)
    {
        var client = new WorkerClient(transport, logger ?? NullLogger.Instance, keyCaching);
        client._scheduler = await transport.ConnectAsync(scheduler, cancellationToken).ConfigureAwait(false);
        client._scheduler.Start(new SchedulerHandler(client));
        await FrameOut.SendControl(client._scheduler, new FrameHeader(MessageType.Register),
            ControlMessages.Encode(new RegisterRequest(NodeRole.Worker, ""))).ConfigureAwait(false);
        RangeMap map = await client._firstMap.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        await client.ConnectServers(map, cancellationToken).ConfigureAwait(false);
        client._heartbeat = new Membership.Heartbeat(client._scheduler, () => client.NodeId, heartbeatInterval ?? TimeSpan.FromMilliseconds(200));
        client._completions = new TicketCompletions($"psf-worker-{client.Rank}-completions");
        return client;
    }

    private async Task ConnectServers(RangeMap map, CancellationToken cancellationToken)
    {
        foreach (ServerInfo s in map.Servers)
        {
            if (_servers.ContainsKey(s.Id))
                continue;
            IConnection c = await _transport.ConnectAsync(Endpoint.Parse(s.Endpoint), cancellationToken).ConfigureAwait(false);
            var link = new ServerLink(this, s.Id, c);
            _servers[s.Id] = link;
            _lostServers.TryRemove(s.Id, out _);
            c.Start(link);
            // A server that joined a running job has heard no clock of this worker: without one
            // it would hold every bounded-delay pull for the ranges that moved to it until this
            // worker's next iteration, which may itself wait on such a pull.
            if (Clock > 0)
                await FrameOut.SendControl(c, new FrameHeader(MessageType.Clock, 0, NodeId, 0, Clock)).ConfigureAwait(false);
        }
    }

    /// <summary>Declares a table (or finds it, when another worker declared the same spec first).</summary>
    public async Task<TableHandle> DeclareTableAsync(TableSpec spec, CancellationToken cancellationToken = default)
    {
        spec.Validate();
        var done = new TaskCompletionSource<RangeMap>(TaskCreationOptions.RunContinuationsAsynchronously);
        ulong id = (ulong)Interlocked.Increment(ref _declareIds);
        lock (_lock)
            _declares[id] = done;
        await FrameOut.SendControl(_scheduler, new FrameHeader(MessageType.DeclareTable, SenderId: NodeId, RequestId: id), ControlMessages.Encode(spec)).ConfigureAwait(false);
        RangeMap map = await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        TableLayout layout = map.Table(spec.Name) ?? throw new InvalidOperationException($"the scheduler did not publish table '{spec.Name}'");
        return new TableHandle(layout.Id, layout.Spec);
    }

    /// <summary>
    /// Pushes one row of values per key (keys sorted and unique) through the servers' updater. The
    /// request is sent once <paramref name="after"/> (earlier tickets it must follow) completed; the
    /// caller keeps <paramref name="keys"/> and <paramref name="values"/> unchanged until the task completes.
    /// </summary>
    public ValueTask PushAsync(TableHandle table, ReadOnlyMemory<ulong> keys, ReadOnlyMemory<float> values, CancellationToken cancellationToken = default, Task? after = null) =>
        Counted(Send(MessageType.Push, table, keys, values, default, null, Consistency.Consistency.Eventual, after, cancellationToken));

    /// <summary>Pulls one row per key into <paramref name="values"/>, once <paramref name="consistency"/> holds for this worker's clock.</summary>
    public ValueTask PullAsync(TableHandle table, ReadOnlyMemory<ulong> keys, Memory<float> values, Consistency.Consistency consistency, CancellationToken cancellationToken = default, Task? after = null) =>
        Send(MessageType.Pull, table, keys, default, values, null, consistency, after, cancellationToken);

    /// <summary>Pushes the rows of a dense range, values in key order.</summary>
    public ValueTask PushRangeAsync(TableHandle table, KeyRange range, ReadOnlyMemory<float> values, CancellationToken cancellationToken = default, Task? after = null) =>
        Counted(Send(MessageType.Push, table, default, values, default, range, Consistency.Consistency.Eventual, after, cancellationToken));

    /// <summary>Pulls the rows of a dense range into <paramref name="values"/>.</summary>
    public ValueTask PullRangeAsync(TableHandle table, KeyRange range, Memory<float> values, Consistency.Consistency consistency, CancellationToken cancellationToken = default, Task? after = null)
    {
        if (_rangeCache is { } cache && after is null && !consistency.IsEventual
            && cache.TryServe(table.Id, range, consistency.RequiredClock(Clock), values.Span))
            return ValueTask.CompletedTask;
        return Send(MessageType.Pull, table, default, default, values, range, consistency, after, cancellationToken);
    }

    private PulledRangeCache? _rangeCache;

    /// <summary>
    /// Keeps a copy of every dense range pulled under bounded delay and answers a later pull from it
    /// while the copy is fresh enough for that pull's consistency (see <see cref="PulledRangeCache"/>).
    /// Off by default.
    /// </summary>
    public bool CachePulledRanges
    {
        get => _rangeCache is not null;
        set => _rangeCache = value ? _rangeCache ?? new PulledRangeCache() : null;
    }

    /// <summary>Dense pulls answered from the worker's own copy.</summary>
    public long PulledRangeCacheHits => _rangeCache?.Hits ?? 0;

    /// <summary>Pushes, then pulls the same keys once the push is applied (one round of SGD).</summary>
    public async ValueTask PushPullAsync(TableHandle table, ReadOnlyMemory<ulong> keys, ReadOnlyMemory<float> push, Memory<float> pull, Consistency.Consistency consistency)
    {
        await PushAsync(table, keys, push).ConfigureAwait(false);
        await PullAsync(table, keys, pull, consistency).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends an iteration: the clock advances and every server learns it (bounded delay counts
    /// these). When the job takes checkpoints and the new clock is one, this waits until the
    /// checkpoint is taken (see <see cref="CheckpointCoordinator"/>).
    /// </summary>
    public async ValueTask AdvanceClockAsync()
    {
        Clock++;
        Metrics?.SetClock(Clock);
        var tick = new FrameHeader(MessageType.Clock, 0, NodeId, 0, Clock);
        await TellServers(tick).ConfigureAwait(false);
        // The scheduler keeps clocks too, so a replacement worker can start where the others are.
        await FrameOut.SendControl(_scheduler, tick).ConfigureAwait(false);
        if (_checkpointEvery > 0 && Clock % _checkpointEvery == 0)
            await CheckpointAsync(Clock).ConfigureAwait(false);
    }

    // Clocks between checkpoints, from the scheduler (0: none). Pushes are counted only then, so a
    // job without checkpoints pays nothing per push.
    private volatile int _checkpointEvery;
    private long _pushesInFlight;
    private readonly Dictionary<long, TaskCompletionSource<bool>> _checkpoints = [];

    /// <summary>How long a worker waits for its pushes to be acknowledged and then for the checkpoint to be taken.</summary>
    public TimeSpan CheckpointTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Checkpoints this worker took part in that were committed.</summary>
    public int CheckpointsCommitted { get; private set; }

    private ValueTask Counted(ValueTask push) => _checkpointEvery > 0 ? CountedAsync(push) : push;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CountedAsync(ValueTask push)
    {
        Interlocked.Increment(ref _pushesInFlight);
        try
        {
            await push.ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _pushesInFlight);
        }
    }

    // The worker's part of the consistent cut: every push of iterations before the clock is
    // acknowledged (so its range's whole chain holds it) before the worker says it is there, and
    // it pushes nothing more until the scheduler says the checkpoint is over.
    private async Task CheckpointAsync(long clock)
    {
        long started = Stopwatch.GetTimestamp();
        // Polled: a checkpoint is rare, and a counter keeps the push path free of any signalling.
        while (Interlocked.Read(ref _pushesInFlight) > 0)
        {
            if (Stopwatch.GetElapsedTime(started) > CheckpointTimeout)
                throw new TimeoutException($"worker {Rank}: {Interlocked.Read(ref _pushesInFlight)} pushes still unacknowledged after {CheckpointTimeout.TotalSeconds:0} s at the checkpoint at clock {clock}");
            await Task.Delay(1).ConfigureAwait(false);
        }
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
            _checkpoints[clock] = done;
        await FrameOut.SendControl(_scheduler, new FrameHeader(MessageType.CheckpointEnter, 0, NodeId, 0, clock)).ConfigureAwait(false);
        bool committed;
        try
        {
            committed = await done.Task.WaitAsync(CheckpointTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"worker {Rank}: the checkpoint at clock {clock} was not over within {CheckpointTimeout.TotalSeconds:0} s");
        }
        if (committed)
            CheckpointsCommitted++;
        else
            _logger.LogWarning("worker {Rank}: the checkpoint at clock {Clock} was not taken; going on", Rank, clock);
        Waits.AddBarrier(Stopwatch.GetTimestamp() - started);
    }

    // Every live server learns the clock (backups too: one may become a primary); a server that
    // died meanwhile is skipped, the scheduler is already replacing it.
    private async ValueTask TellServers(FrameHeader tick)
    {
        foreach (ServerLink s in _servers.Values)
        {
            try
            {
                await FrameOut.SendControl(s.Connection, tick).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // Lost: OnServerClosed handles its requests.
            }
        }
    }

    /// <summary>The clock of a worker that has no iterations left: it never holds anyone back.</summary>
    public const long FinishedClock = long.MaxValue / 4;

    /// <summary>
    /// Declares this worker's iterations over: its clock becomes <see cref="FinishedClock"/>, so
    /// bounded delay stops waiting for it (a replacement worker that reruns a shard may need more
    /// iterations than the others, who must not then hold it back).
    /// </summary>
    public async ValueTask FinishIterationsAsync()
    {
        var tick = new FrameHeader(MessageType.Clock, 0, NodeId, 0, FinishedClock);
        await TellServers(tick).ConfigureAwait(false);
        await FrameOut.SendControl(_scheduler, tick).ConfigureAwait(false);
    }

    /// <summary>Waits until every live worker reached barrier <paramref name="id"/>.</summary>
    public async Task BarrierAsync(uint id, CancellationToken cancellationToken = default)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
            _barriers[id] = tcs;
        long started = Stopwatch.GetTimestamp();
        await FrameOut.SendControl(_scheduler, new FrameHeader(MessageType.Barrier, SenderId: NodeId, Argument: id)).ConfigureAwait(false);
        await tcs.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Time at a barrier is time the slowest worker kept this one waiting.
        Waits.AddBarrier(Stopwatch.GetTimestamp() - started);
        Metrics?.Waited(Operations.WaitCause.Barrier, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>
    /// Sends a progress report; the final one (<c>Done</c>) carries this client's own figures as
    /// well: where its requests waited, by cause, and when it recovered from a server failure.
    /// </summary>
    public ValueTask ReportAsync(ProgressReport report)
    {
        report = report with { Metrics = report.Done ? WithClientMetrics(report.Metrics) : WithCounters(report.Metrics) };
        return FrameOut.SendControl(_scheduler, new FrameHeader(MessageType.Progress, SenderId: NodeId), ControlMessages.Encode(report));
    }

    // Counters for the scheduler's view of throughput (`psf status`).
    private Dictionary<string, double> WithCounters(IReadOnlyDictionary<string, double> metrics) =>
        new(metrics) { ["requests"] = Waits.Requests, ["bytes_sent"] = BytesSent };

    private Dictionary<string, double> WithClientMetrics(IReadOnlyDictionary<string, double> metrics)
    {
        var all = new Dictionary<string, double>(WithCounters(metrics))
        {
            ["wait_network_seconds"] = Waits.NetworkSeconds,
            ["wait_server_seconds"] = Waits.ServerSeconds,
            ["wait_consistency_seconds"] = Waits.ConsistencySeconds,
            ["wait_straggler_seconds"] = Waits.StragglerSeconds,
        };
        if (RecoveredAtUnixMs > 0)
            all["recovered_at_unix_ms"] = RecoveredAtUnixMs;
        return all;
    }

    /// <summary>Wall-clock time (Unix ms) at which a request was first answered by a new primary after the last server loss (0 if none).</summary>
    public long RecoveredAtUnixMs { get; private set; }

    /// <summary>
    /// The most values of a dense request one frame carries (128 K floats, 512 KiB, by default); a
    /// larger request goes in pieces, so a server applies one while the next is on the wire
    /// instead of first receiving all of it and then applying it while the link idles, and each
    /// piece with its slice of the table stays in the core's cache between arriving and being
    /// applied (and over shared memory fits one ring record, applied straight out of the ring).
    /// `psf bench kv --quick`, dense push of 1 M floats, same machine, interleaved runs: over TCP
    /// 0.57-0.72x the C stream in 1 M-float pieces, 0.77-0.93x in 256 K, 0.94-1.06x in 128 K,
    /// 0.79-0.84x in 64 K (pull 2.1 GB/s against 4.6-4.8); over shared memory 5.1 against
    /// 8.6-8.7 GB/s. Pieces are separate frames with ids of their own, like the parts of a
    /// request that spans servers. <see cref="int.MaxValue"/> sends every part whole.
    /// </summary>
    public int DensePieceFloats
    {
        get => _densePieceFloats;
        set => _densePieceFloats = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "a piece holds at least one value");
    }

    private volatile int _densePieceFloats = DefaultDensePieceFloats;

    /// <summary>128 K floats: see <see cref="DensePieceFloats"/>.</summary>
    public const int DefaultDensePieceFloats = 1 << 17;

    // Pooled async state: a request allocates nothing once the pools are warm.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask Send(MessageType type, TableHandle table, ReadOnlyMemory<ulong> keys, ReadOnlyMemory<float> values,
        Memory<float> destination, KeyRange? range, Consistency.Consistency consistency, Task? after, CancellationToken cancellationToken)
    {
        if (after is not null)
            await after.WaitAsync(cancellationToken).ConfigureAwait(false);
        RangeMap map = Map;
        TableLayout layout = map.Table(table.Id) ?? throw new ArgumentException($"table '{table.Spec.Name}' is not in range map version {map.Version}");
        int width = layout.Spec.Width;
        long count = range is { } r ? (long)r.Size : keys.Length;
        long valueCount = type == MessageType.Pull ? destination.Length : values.Length;
        if (valueCount != count * width)
            throw new ArgumentException($"table '{layout.Spec.Name}': {count} keys of width {width} need {count * width} values, got {valueCount}");
        if (range is null)
            ValidateKeys(layout.Spec.Name, keys.Span);
        else if (!layout.Spec.Range.Contains(range.Value))
            throw new ArgumentOutOfRangeException(nameof(range), $"table '{layout.Spec.Name}': range {range} is outside {layout.Spec.Range}");

        // Slice by the range map: each part of the table the request touches goes to its primary,
        // a dense part in pieces of at most DensePieceFloats values. Counted first, so the ticket
        // knows how many answers to wait for before any is sent.
        int partCount = 0;
        long covered = 0;
        int pieceKeys = range is null ? int.MaxValue : Math.Max(1, _densePieceFloats / width);
        IReadOnlyList<RangeAssignment> ranges = layout.Ranges;
        for (int i = 0; i < ranges.Count; i++)
        {
            (int _, int length) = Overlap(ranges[i].Range, keys.Span, range);
            if (length > 0)
            {
                partCount += (int)((length + (long)pieceKeys - 1) / pieceKeys);
                covered += length;
            }
        }
        if (range is null && covered != keys.Length)
            throw new ArgumentOutOfRangeException(nameof(keys), $"table '{layout.Spec.Name}': some keys are outside its range {layout.Spec.Range}");
        if (partCount == 0)
            return;
        RequestTicket ticket = RequestTicket.Rent(partCount, _completions);
        bool waitsForNewPrimary = false;
        long clock = Clock;
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < ranges.Count; i++)
        {
            RangeAssignment part = ranges[i];
            (int partStart, int partLength) = Overlap(part.Range, keys.Span, range);
            int partEnd = partStart + partLength;
            for (int start = partStart, length = 0; start < partEnd; start += length)
            {
                length = Math.Min(pieceKeys, partEnd - start);
                _servers.TryGetValue(part.Primary, out ServerLink? server);
                if (server is null && !_lostServers.ContainsKey(part.Primary))
                    throw new IOException($"table '{layout.Spec.Name}': server {NodeIds.ServerRank((uint)part.Primary)} of range map version {map.Version} is not connected");
                PartDescription what = Describe(type, layout.Spec.Name, keys.Span, range, start, length, part.Primary);
                Memory<float> partDestination = type == MessageType.Pull ? destination.Slice(start * width, length * width) : default;
                ReadOnlyMemory<ulong> partKeys = range is null ? keys.Slice(start, length) : default;
                ReadOnlyMemory<float> partValues = type == MessageType.Push ? values.Slice(start * width, length * width) : default;
                ulong requestId = _pending.NextId();
                var header = new FrameHeader(type, layout.Id, NodeId, requestId, clock, type == MessageType.Pull ? (uint)Math.Min(consistency.MaxDelay, int.MaxValue) : 0);
                KeyRangeOrList keyForm = range is { } whole ? KeyRangeOrList.Range(whole.Begin + (ulong)start, whole.Begin + (ulong)(start + length)) : KeyRangeOrList.List;
                _pending.Add(requestId, new PendingPart(ticket, partDestination, what, part.Primary, header, partKeys, partValues, keyForm));
                if (server is null)
                {
                    waitsForNewPrimary = true;
                    continue; // its primary was just lost: sent to the new one when the scheduler names it
                }
                try
                {
                    await server.SendAsync(header, partKeys, keyForm, partValues).ConfigureAwait(false);
                }
                catch (Exception e) when (e is ConnectionClosedException or IOException)
                {
                    // With replicas the part waits for the range's next primary; without, it fails.
                    if (_replicated && !_disposing)
                    {
                        MarkLost(part.Primary, e);
                        waitsForNewPrimary = true;
                    }
                    else if (_pending.TryRemove(requestId, out _))
                    {
                        ticket.PartFailed(new IOException($"{what}: {e.Message}", e));
                    }
                }
            }
        }
        // A part left waiting for its range's new primary is rerouted when the map naming it
        // arrives. A map that arrived while this request was being sliced by the older one has
        // had its reroute already, perhaps before the part was pending: reroute again for it.
        // (A map is stored before its reroute starts, so one of the two always sees the part.)
        if (waitsForNewPrimary && !ReferenceEquals(Map, map))
            _ = Task.Run(() => RerouteAsync(Map));
        if (cancellationToken.CanBeCanceled)
            await ticket.Task.AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
        else
            await ticket.Task.ConfigureAwait(false);
        long waited = Stopwatch.GetTimestamp() - started;
        Waits.AddRequest(waited, ticket.ServerTicks, ticket.ConsistencyTicks);
        NoteRequest(type, waited, ticket.Freshness);
        if (type == MessageType.Pull && range is { } pulled && _rangeCache is { } cache && !consistency.IsEventual)
            cache.Store(layout.Id, pulled, destination.Span, ticket.Freshness);
        ticket.Return();
    }

    // The exported view of a finished request: its kind and time, what is still in flight, and for
    // a pull how far this worker's clock is ahead of the slowest clock the servers answered with.
    private void NoteRequest(MessageType type, long waitedTicks, long freshness)
    {
        if (Metrics is not { } m)
            return;
        double seconds = waitedTicks / (double)Stopwatch.Frequency;
        m.Waited(Operations.WaitCause.Network, seconds);
        m.RequestHandled(type == MessageType.Push ? Operations.RequestKind.Push : Operations.RequestKind.Pull, seconds);
        m.SetQueueDepth(Operations.QueueKind.InFlight, _pending.Count);
        if (type == MessageType.Pull && freshness is >= 0 and < FinishedClock)
            m.SetClockLag(Math.Max(0, Clock - freshness));
    }

    // The slice of a request one part of the table takes: for keys by binary search, for a range by overlap.
    private static (int Start, int Length) Overlap(KeyRange part, ReadOnlySpan<ulong> keys, KeyRange? range)
    {
        if (range is not { } r)
            return KeySet.Slice(keys, part);
        KeyRange overlap = part.Intersect(r);
        return overlap.IsEmpty ? (0, 0) : ((int)(overlap.Begin - r.Begin), (int)overlap.Size);
    }

    private static PartDescription Describe(MessageType type, string table, ReadOnlySpan<ulong> keys, KeyRange? range, int start, int length, int server) =>
        range is { } r
            ? new PartDescription(type, table, true, r.Begin + (ulong)start, r.Begin + (ulong)(start + length), NodeIds.ServerRank((uint)server))
            : new PartDescription(type, table, false, keys[start], keys[start + length - 1], NodeIds.ServerRank((uint)server));

    // KeySet's message, naming the table the keys were meant for.
    private static void ValidateKeys(string table, ReadOnlySpan<ulong> keys)
    {
        try
        {
            KeySet.Validate(keys);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"table '{table}': {e.Message}", nameof(keys), e);
        }
    }

    private void OnServerFrame(ServerLink link, ReadOnlySpan<byte> bytes)
    {
        Frame frame = link.Decoder.Read(bytes);
        if (frame.Type == MessageType.KeyListRequest)
        {
            // The server no longer holds the list this request named by signature: resend in full.
            if (_pending.TryGet(frame.RequestId, out PendingPart missed))
            {
                Interlocked.Increment(ref _keyCacheMisses);
                ResendInFull(link, frame.RequestId, missed, frame.KeySignature);
            }
            return;
        }
        if (!_pending.TryRemove(frame.RequestId, out PendingPart part))
            return;
        switch (frame.Type)
        {
            case MessageType.PushAck:
                PartDone(part, frame);
                break;
            case MessageType.PullResponse:
                if (frame.ValueCount != part.Destination.Length)
                {
                    part.Ticket.PartFailed(new ProtocolException($"{part.Description}: server answered {frame.ValueCount} values for {part.Destination.Length}"));
                    break;
                }
                FrameDecoder.DecodeValues(frame, part.Destination.Span);
                PartDone(part, frame);
                break;
            case MessageType.Error:
                part.Ticket.PartFailed(new ParameterServerException($"{part.Description} failed: {FrameDecoder.ErrorMessage(frame)}"));
                break;
            case MessageType.Moved:
                Moved(frame.RequestId, part, frame.Argument);
                break;
            default:
                part.Ticket.PartFailed(new ProtocolException($"{part.Description}: unexpected {frame.Type} answer"));
                break;
        }
    }

    private void PartDone(in PendingPart part, in Frame answer)
    {
        if (part.Rerouted)
            Recovered();
        ServerTiming timing = ServerTiming.ReadFrom(answer.Extras);
        if (answer.Type == MessageType.PullResponse)
            part.Ticket.SeenFreshness(answer.Clock);
        part.Ticket.PartDone(MicrosToTicks(timing.ServerMicros), MicrosToTicks(timing.ConsistencyMicros));
    }

    private static long MicrosToTicks(uint micros) => micros * Stopwatch.Frequency / 1_000_000;

    private void OnSchedulerFrame(ReadOnlySpan<byte> bytes)
    {
        Frame frame = _schedulerDecoder.Read(bytes);
        switch (frame.Type)
        {
            case MessageType.Register:
                RegisterReply reply = ControlMessages.DecodeRegisterReply(frame.Extras);
                NodeId = (uint)reply.NodeId;
                Rank = reply.Rank;
                Metrics ??= new Operations.NodeMetrics(NodeRole.Worker, Rank);
                Clock = reply.StartClock;
                _logger.LogInformation("worker: registered as rank {Rank}, starting at clock {Clock}", Rank, Clock);
                break;
            case MessageType.RangeMap:
                RangeMap map = ControlMessages.DecodeRangeMap(frame.Extras);
                _logger.LogInformation("worker {Rank}: range map version {Version} ({Tables} tables)", Rank, map.Version, map.Tables.Count);
                _replicated |= map.Tables.Any(t => t.Ranges.Any(a => a.Chain.Length > 1));
                if (_map is null || map.Version > _map.Version)
                {
                    // Any newer map may move ranges (a failover, a server added or drained): requests
                    // in flight to a server that is no longer their range's primary go to the new one.
                    bool reroute = _map is not null;
                    _map = map;
                    if (reroute)
                        _ = Task.Run(() => RerouteAsync(map));
                    DropServersNotIn(map);
                }
                _firstMap.TrySetResult(map);
                TaskCompletionSource<RangeMap>? declare = null;
                lock (_lock)
                {
                    if (frame.RequestId != 0 && _declares.Remove(frame.RequestId, out declare))
                    {
                    }
                }
                declare?.TrySetResult(map);
                break;
            case MessageType.Barrier:
                _logger.LogInformation("worker {Rank}: barrier {Barrier} released", Rank, frame.Argument);
                TaskCompletionSource? barrier;
                lock (_lock)
                    _barriers.Remove(frame.Argument, out barrier);
                barrier?.TrySetResult();
                break;
            case MessageType.Error:
                string message = FrameDecoder.ErrorMessage(frame);
                lock (_lock)
                {
                    if (_declares.Remove(frame.RequestId, out TaskCompletionSource<RangeMap>? failed))
                        failed.TrySetException(new ParameterServerException(message));
                }
                _logger.LogWarning("worker {Rank}: {Message}", Rank, message);
                break;
            case MessageType.CheckpointPlan:
                _checkpointEvery = (int)Math.Min(frame.Argument, int.MaxValue);
                break;
            case MessageType.CheckpointDone:
                TaskCompletionSource<bool>? checkpoint;
                lock (_lock)
                    _checkpoints.Remove(frame.Clock, out checkpoint);
                checkpoint?.TrySetResult(frame.Argument == 1);
                break;
            case MessageType.Shutdown:
                _shutdown.TrySetResult();
                break;
        }
    }

    // Off the receive thread, forgetting the signature too: both take the link's send lock, which
    // a sender waiting for room in a full ring may hold, and the room comes only from a peer that
    // needs this receive thread to read what it sends.
    private void ResendInFull(ServerLink link, ulong requestId, PendingPart part, Codec.Keys.KeySignature forgotten)
    {
        FrameHeader header = part.Header with { RequestId = requestId };
        _ = Task.Run(async () =>
        {
            try
            {
                link.Forget(forgotten);
                await link.SendAsync(header, part.Keys, KeyRangeOrList.List, part.Values).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Any failure (a closed link, a client being disposed) fails the part with its
                // reason rather than leave it pending.
                if (_pending.TryRemove(requestId, out _))
                    part.Ticket.PartFailed(new IOException($"{part.Description}: {e.Message}", e));
            }
        });
    }

    /// <summary>How long requests to a lost server wait for the scheduler to name a new primary.</summary>
    public TimeSpan FailoverTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Seconds from the last server loss this worker saw to the first of its requests answered by the new primary (0 if none).</summary>
    public double RecoverySeconds { get; private set; }

    // With replicas the lost server's ranges get a new primary in the next map, and its requests
    // go there (RerouteAsync); without, or if no map comes in time, they fail naming the server.
    private void OnServerClosed(ServerLink link, Exception? error)
    {
        if (_replicated && !_disposing)
        {
            // Marked lost before it leaves the server list: a request sent meanwhile then waits for
            // the new primary instead of finding its server neither connected nor lost.
            MarkLost(link.Id, error);
            _servers.TryRemove(new KeyValuePair<int, ServerLink>(link.Id, link));
            // The scheduler may have published the map without it already: reroute now.
            if (_map is { } map && !map.Servers.Any(s => s.Id == link.Id))
                _ = Task.Run(() => RerouteAsync(map));
            return;
        }
        _servers.TryRemove(new KeyValuePair<int, ServerLink>(link.Id, link));
        _pending.FailAll(p => p.Server == link.Id,
            p => new IOException($"{p.Description}: connection lost{(error is null ? "" : $" ({error.Message})")}"));
    }

    // A server the scheduler dropped while this worker's connection to it still looks open (it was
    // cut off by a partition, or hangs): the connection is closed here, so its requests fail over
    // exactly as a dead server's do (OnServerClosed) instead of waiting on TCP retransmissions.
    private void DropServersNotIn(RangeMap map)
    {
        if (!_replicated)
            return;
        foreach (ServerLink link in _servers.Values)
        {
            if (!map.Servers.Any(s => s.Id == link.Id))
            {
                _logger.LogWarning("worker {Rank}: server {Server} left range map {Version} while connected; closing its connection", Rank, NodeIds.ServerRank((uint)link.Id), map.Version);
                _ = link.Connection.DisposeAsync().AsTask();
            }
        }
    }

    private void MarkLost(int server, Exception? error)
    {
        long now = Stopwatch.GetTimestamp();
        if (!_lostServers.TryAdd(server, now))
            return;
        Interlocked.Exchange(ref _lostAt, now);
        _logger.LogWarning("worker {Rank}: server {Server} lost{Reason}; waiting for its ranges' new primary", Rank, NodeIds.ServerRank((uint)server), error is null ? "" : $" ({error.Message})");
        _failoverTimer ??= new Timer(_ => FailOverdue(), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
    }

    private void FailOverdue()
    {
        long now = Stopwatch.GetTimestamp();
        foreach ((int server, long since) in _lostServers)
        {
            if (Stopwatch.GetElapsedTime(since, now) < FailoverTimeout)
                continue;
            _lostServers.TryRemove(server, out _);
            _pending.FailAll(p => p.Server == server,
                p => new IOException($"{p.Description}: connection lost and no new primary within {FailoverTimeout.TotalSeconds:0.#} s"));
        }
    }

    // A new map after a failover: connect to servers not yet known, then resend every request
    // still waiting on a server that is gone (or no longer primary of its range) to the range's
    // primary now, with the same request id — the servers apply each (worker, id) once.
    private async Task RerouteAsync(RangeMap map)
    {
        try
        {
            await ConnectServers(map, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            _logger.LogWarning("worker {Rank}: range map {Version}: {Message}", Rank, map.Version, e.Message);
        }
        int rerouted = 0;
        foreach ((ulong id, PendingPart part) in _pending.Snapshot())
        {
            TableLayout? layout = map.Table(part.Header.TableId);
            if (layout is null)
                continue;
            ulong first = part.KeyForm.IsRange ? part.KeyForm.Begin : part.Keys.Span[0];
            int primary = layout.Ranges[layout.PartOf(first)].Primary;
            if (primary == part.Server || !_servers.TryGetValue(primary, out ServerLink? link))
                continue;
            if (!_pending.TryReplace(id, part with { Server = primary, Rerouted = true }))
                continue;
            rerouted++;
            try
            {
                await link.SendAsync(part.Header, part.Keys, part.KeyForm, part.Values).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ConnectionClosedException or IOException)
            {
                if (_pending.TryRemove(id, out _))
                    part.Ticket.PartFailed(new IOException($"{part.Description}: resend to server {NodeIds.ServerRank((uint)primary)} failed: {e.Message}", e));
            }
        }
        // Nothing was in flight to the lost server: the job has recovered once this map is in use.
        if (rerouted == 0)
            Recovered();
    }

    // From the last server loss to the first request a new primary answered.
    private void Recovered()
    {
        long lostAt = Interlocked.Read(ref _lostAt);
        if (lostAt != 0 && Interlocked.CompareExchange(ref _lostAt, 0, lostAt) == lostAt)
        {
            RecoverySeconds = Stopwatch.GetElapsedTime(lostAt).TotalSeconds;
            RecoveredAtUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        }
    }

    private Membership.Heartbeat? _heartbeat;

    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        Metrics?.Dispose();
        _heartbeat?.Dispose();
        _failoverTimer?.Dispose();
        foreach (ServerLink s in _servers.Values)
            await s.Connection.DisposeAsync().ConfigureAwait(false);
        await _scheduler.DisposeAsync().ConfigureAwait(false);
        _completions?.Dispose();
    }

    private sealed class ServerLink(WorkerClient owner, int id, IConnection connection) : IFrameHandler
    {
        // What this server has been sent and remembers; encode and send happen under this lock so
        // a list always reaches the server before any frame that names it by signature.
        private readonly Codec.Keys.KeyCache? _peerKeys = owner.KeyCaching ? new Codec.Keys.KeyCache() : null;

        public int Id => id;
        public IConnection Connection => connection;
        public FrameDecoder Decoder { get; } = new();

        public ValueTask SendAsync(FrameHeader header, ReadOnlyMemory<ulong> keys, KeyRangeOrList keyForm, ReadOnlyMemory<float> values)
        {
            lock (this)
            {
                ValueTask sent = FrameOut.SendDataZeroCopy(connection, header, keys.Span, keyForm, values, _peerKeys, out int bytes);
                Interlocked.Add(ref owner._bytesSent, Math.Max(0, bytes));
                owner.Metrics?.Traffic(Operations.TrafficDirection.Sent, Math.Max(0, bytes));
                return sent;
            }
        }

        public void Forget(Codec.Keys.KeySignature signature)
        {
            lock (this)
                _peerKeys?.Forget(signature);
        }

        public void OnFrame(IConnection c, ReadOnlySpan<byte> frame)
        {
            owner.Metrics?.Traffic(Operations.TrafficDirection.Received, frame.Length);
            owner.OnServerFrame(this, frame);
        }

        public void OnClosed(IConnection c, Exception? error) => owner.OnServerClosed(this, error);
    }

    private sealed class SchedulerHandler(WorkerClient owner) : IFrameHandler
    {
        public void OnFrame(IConnection c, ReadOnlySpan<byte> frame) => owner.OnSchedulerFrame(frame);

        public void OnClosed(IConnection c, Exception? error)
        {
            owner._firstMap.TrySetException(new IOException($"scheduler connection ended{(error is null ? "" : $": {error.Message}")}"));
            List<TaskCompletionSource<bool>> checkpoints;
            lock (owner._lock)
            {
                checkpoints = [.. owner._checkpoints.Values];
                owner._checkpoints.Clear();
            }
            foreach (TaskCompletionSource<bool> waiting in checkpoints)
                waiting.TrySetException(new IOException($"scheduler connection ended during a checkpoint{(error is null ? "" : $": {error.Message}")}"));
            owner._shutdown.TrySetResult();
        }
    }
}

/// <summary>A request the servers refused, with their reason.</summary>
public sealed class ParameterServerException(string message) : Exception(message);
