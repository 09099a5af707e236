using System.Threading.Tasks.Sources;
using Microsoft.Extensions.ObjectPool;
using ParameterServer.Fast.Codec.Frames;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// One user request (a push or pull of one table) spread over several servers: it completes when
/// every part has, or fails with the first part's error. A pull part decodes its values straight
/// into the caller's memory at its offset. Tickets are pooled: one that completed successfully has
/// no part left anywhere and goes back for reuse; a failed or abandoned one is left to the GC, as
/// a late answer may still reach it. The continuation runs where the ticket's
/// <see cref="TicketCompletions"/> puts it: on the receive thread that completed it only when that thread can be lent.
/// </summary>
internal sealed class RequestTicket : IValueTaskSource, IThreadPoolWorkItem
{
    private static readonly ObjectPool<RequestTicket> s_pool = new DefaultObjectPool<RequestTicket>(new DefaultPooledObjectPolicy<RequestTicket>(), 256);

    // Continuations run inline wherever Execute runs: a lent receive thread, the completion thread or a pool thread.
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = false };
    private TicketCompletions? _completions;
    private Exception? _error;
    private int _remaining;
    // 1 once the outcome is decided (every part done, or one failed): the source is set once.
    private int _settled;
    private long _serverTicks;
    private long _consistencyTicks;
    private long _freshness;

    public static RequestTicket Rent(int parts, TicketCompletions completions)
    {
        RequestTicket ticket = s_pool.Get();
        ticket._core.Reset();
        ticket._completions = completions;
        ticket._error = null;
        ticket._remaining = parts;
        ticket._settled = 0;
        ticket._serverTicks = 0;
        ticket._consistencyTicks = 0;
        ticket._freshness = long.MaxValue;
        return ticket;
    }

    /// <summary>Back to the pool; only after the request succeeded (no part of it is pending any more).</summary>
    public void Return() => s_pool.Return(this);

    public ValueTask Task => new(this, _core.Version);

    /// <summary>The longest server time and bounded-delay hold of any part, in Stopwatch ticks.</summary>
    public long ServerTicks => Volatile.Read(ref _serverTicks);

    public long ConsistencyTicks => Volatile.Read(ref _consistencyTicks);

    /// <summary>The least clock the answering servers reported for their ranges (how fresh a pull's values are).</summary>
    public long Freshness => Volatile.Read(ref _freshness);

    public void SeenFreshness(long clock)
    {
        long seen = Volatile.Read(ref _freshness);
        while (clock < seen)
        {
            long was = Interlocked.CompareExchange(ref _freshness, clock, seen);
            if (was == seen)
                return;
            seen = was;
        }
    }

    public void PartDone(long serverTicks, long consistencyTicks)
    {
        Max(ref _serverTicks, serverTicks);
        Max(ref _consistencyTicks, consistencyTicks);
        if (Interlocked.Decrement(ref _remaining) == 0 && Interlocked.Exchange(ref _settled, 1) == 0)
            _completions!.Complete(this);
    }

    // Failures are rare and may come from any thread (a timer, a closing connection): the pool runs them.
    public void PartFailed(Exception error)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _error = error;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        if (_error is { } error)
            _core.SetException(error);
        else
            _core.SetResult(true);
    }

    private static void Max(ref long target, long value)
    {
        long seen = Volatile.Read(ref target);
        while (value > seen)
        {
            long was = Interlocked.CompareExchange(ref target, value, seen);
            if (was == seen)
                return;
            seen = was;
        }
    }

    public void GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

/// <summary>
/// What a part is, for error messages: formatted only when one is needed, so a request in
/// flight carries no string.
/// </summary>
internal readonly record struct PartDescription(MessageType Type, string Table, bool IsRange, ulong First, ulong Last, int ServerRank)
{
    public override string ToString() => IsRange
        ? $"{Type.ToString().ToLowerInvariant()} of table '{Table}' range [{First}, {Last}) on server {ServerRank}"
        : $"{Type.ToString().ToLowerInvariant()} of table '{Table}' keys [{First}..{Last}] on server {ServerRank}";
}

/// <summary>A request part in flight to one server, with what was sent (kept so a key-cache miss can be answered by resending in full).</summary>
internal readonly record struct PendingPart(RequestTicket Ticket, Memory<float> Destination, PartDescription Description, int Server,
    FrameHeader Header, ReadOnlyMemory<ulong> Keys, ReadOnlyMemory<float> Values, KeyRangeOrList KeyForm)
{
    /// <summary>Resent to a new primary after its first server was lost.</summary>
    public bool Rerouted { get; init; }

    /// <summary>Times a server answered that the range had moved.</summary>
    public int Moves { get; init; }
}

/// <summary>Parts in flight, by request id. A plain dictionary of structs under a lock: nothing allocated per request once it has grown.</summary>
internal sealed class PendingRequests
{
    private readonly Dictionary<ulong, PendingPart> _parts = [];
    private long _nextId;

    /// <summary>A fresh request id (ids are never reused, so a late answer cannot complete the wrong request).</summary>
    public ulong NextId() => (ulong)Interlocked.Increment(ref _nextId);

    public void Add(ulong id, in PendingPart part)
    {
        lock (_parts)
            _parts[id] = part;
    }

    public bool TryRemove(ulong id, out PendingPart part)
    {
        lock (_parts)
            return _parts.Remove(id, out part);
    }

    public bool TryGet(ulong id, out PendingPart part)
    {
        lock (_parts)
            return _parts.TryGetValue(id, out part);
    }

    /// <summary>Replaces a part still pending (it moved to another server); false if it was answered meanwhile.</summary>
    public bool TryReplace(ulong id, in PendingPart part)
    {
        lock (_parts)
        {
            if (!_parts.ContainsKey(id))
                return false;
            _parts[id] = part;
            return true;
        }
    }

    /// <summary>The parts pending now (a copy: for the rare walk after a failover).</summary>
    public List<(ulong Id, PendingPart Part)> Snapshot()
    {
        lock (_parts)
            return [.. _parts.Select(p => (p.Key, p.Value))];
    }

    public int Count
    {
        get
        {
            lock (_parts)
                return _parts.Count;
        }
    }

    /// <summary>Fails every part still waiting on a connection that ended.</summary>
    public void FailAll(Func<PendingPart, bool> which, Func<PendingPart, Exception> error)
    {
        List<(ulong Id, PendingPart Part)> failed = [];
        lock (_parts)
        {
            foreach ((ulong id, PendingPart part) in _parts)
            {
                if (which(part))
                    failed.Add((id, part));
            }
            foreach ((ulong id, _) in failed)
                _parts.Remove(id);
        }
        foreach ((_, PendingPart part) in failed)
            part.Ticket.PartFailed(error(part));
    }
}
