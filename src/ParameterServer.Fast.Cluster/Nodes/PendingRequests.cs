using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// One user request (a push or pull of one table) spread over several servers: it completes when
/// every part has, or fails with the first part's error. A pull part decodes its values straight
/// into the caller's memory at its offset.
/// </summary>
internal sealed class RequestTicket : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _remaining;
    private int _failed;

    public void Reset(int parts)
    {
        _core.Reset();
        _remaining = parts;
        _failed = 0;
    }

    public ValueTask Task => new(this, _core.Version);

    public void PartDone()
    {
        if (Interlocked.Decrement(ref _remaining) == 0 && Volatile.Read(ref _failed) == 0)
            _core.SetResult(true);
    }

    public void PartFailed(Exception error)
    {
        if (Interlocked.Exchange(ref _failed, 1) == 0)
            _core.SetException(error);
    }

    public void GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

/// <summary>A request part in flight to one server.</summary>
internal sealed record PendingPart(RequestTicket Ticket, Memory<float> Destination, string Description)
{
    public int Server { get; init; }

    /// <summary>What was sent, kept until the answer so a key-cache miss can be answered by resending in full.</summary>
    public Codec.Frames.FrameHeader Header { get; init; }
    public ReadOnlyMemory<ulong> Keys { get; init; }
    public ReadOnlyMemory<float> Values { get; init; }
}

/// <summary>Parts in flight, by request id.</summary>
internal sealed class PendingRequests
{
    private readonly ConcurrentDictionary<ulong, PendingPart> _parts = new();
    private long _nextId;

    /// <summary>A fresh request id (ids are never reused, so a late answer cannot complete the wrong request).</summary>
    public ulong NextId() => (ulong)Interlocked.Increment(ref _nextId);

    public void Add(ulong id, PendingPart part) => _parts[id] = part;

    public bool TryRemove(ulong id, out PendingPart? part) => _parts.TryRemove(id, out part);

    public bool TryGet(ulong id, out PendingPart? part) => _parts.TryGetValue(id, out part);

    public int Count => _parts.Count;

    /// <summary>Fails every part still waiting on a connection that ended.</summary>
    public void FailAll(Func<PendingPart, bool> which, Func<PendingPart, Exception> error)
    {
        foreach ((ulong id, PendingPart part) in _parts)
        {
            if (which(part) && _parts.TryRemove(id, out _))
                part.Ticket.PartFailed(error(part));
        }
    }
}
