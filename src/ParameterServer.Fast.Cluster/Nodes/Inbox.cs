using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Runs the frames of every connection of a node one at a time, in arrival order per connection,
/// so the node's state (tables, clocks, membership) needs no locks. There is no thread of its
/// own: a frame is handled right on the receive thread that brought it, straight from the
/// transport's buffer, whenever no other frame is being handled — no copy and no thread hop on
/// the common path. Only a frame that arrives while another runs is copied into a pooled pinned
/// buffer and queued; whoever is running drains the queue before letting go.
/// </summary>
internal sealed class Inbox : IFrameHandler, IDisposable
{
    private const int Idle = 0, Running = 1, Disposed = 2;

    private readonly ConcurrentQueue<Item> _queue = new();
    private readonly string _name;
    private readonly ILogger _logger;
    private readonly Action<IConnection, ReadOnlySpan<byte>> _onFrame;
    private readonly Action<IConnection, Exception?> _onClosed;
    private readonly Action? _onIdle;
    private int _state;
    private int _runner;
    private long _queuedTicks;

    private readonly record struct Item(IConnection? Connection, PinnedBuffer? Buffer, int Length, Exception? ClosedError, Action? Work, long Arrived);

    /// <param name="onIdle">Run in turn whenever the queue has just run dry, before letting go: work
    /// that waits for a lull (a server's replication batches), never delayed past the last frame.</param>
    public Inbox(string name, ILogger logger, Action<IConnection, ReadOnlySpan<byte>> onFrame, Action<IConnection, Exception?> onClosed, Action? onIdle = null)
    {
        _onIdle = onIdle;
        _name = name;
        _logger = logger;
        _onFrame = onFrame;
        _onClosed = onClosed;
    }

    /// <summary>
    /// How long the frame being handled waited for another to finish (0 when it ran at once):
    /// the server's queueing time, which answers report back to the worker.
    /// </summary>
    public long CurrentQueuedTicks => _queuedTicks;

    /// <summary>Frames (and posted work) waiting now: the psf_queue_depth{queue="inbox"} gauge.</summary>
    public int Depth => _queue.Count;

    /// <summary>Frames that had to wait their turn (copied and queued), for metrics and tests.</summary>
    public long QueuedFrames { get; private set; }

    public void OnFrame(IConnection connection, ReadOnlySpan<byte> frame)
    {
        if (TryEnter())
        {
            try
            {
                // Frames queued before this one (by this connection too) go first: order per connection holds.
                Drain();
                Handle(connection, frame, 0);
            }
            finally
            {
                Leave();
            }
            return;
        }
        if (Volatile.Read(ref _state) == Disposed)
            return;
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(Math.Max(1, frame.Length));
        frame.CopyTo(buffer.Span);
        Enqueue(new Item(connection, buffer, frame.Length, null, null, Stopwatch.GetTimestamp()));
    }

    public void OnClosed(IConnection connection, Exception? error) => Enqueue(new Item(connection, null, -1, error, null, Stopwatch.GetTimestamp()));

    /// <summary>Runs <paramref name="work"/> in turn with the frames (timers, local calls).</summary>
    public bool Post(Action work) => Enqueue(new Item(null, null, 0, null, work, Stopwatch.GetTimestamp()));

    private bool Enqueue(Item item)
    {
        if (Volatile.Read(ref _state) == Disposed)
        {
            item.Buffer?.Dispose();
            return false;
        }
        _queue.Enqueue(item);
        if (TryEnter())
            Leave();
        return true;
    }

    private bool TryEnter()
    {
        if (Interlocked.CompareExchange(ref _state, Running, Idle) != Idle)
            return false;
        _runner = Environment.CurrentManagedThreadId;
        return true;
    }

    // Lets go, unless something was queued meanwhile that nobody else will pick up.
    private void Leave()
    {
        while (true)
        {
            Drain();
            if (_onIdle is not null)
            {
                Run(_onIdle);
                if (!_queue.IsEmpty)
                    continue;
            }
            if (Interlocked.CompareExchange(ref _state, Idle, Running) != Running)
                return;
            if (_queue.IsEmpty || !TryEnter())
                return;
        }
    }

    private void Drain()
    {
        while (_queue.TryDequeue(out Item item))
        {
            try
            {
                if (item.Work is not null)
                    Run(item.Work);
                else if (item.Buffer is null)
                    Closed(item.Connection!, item.ClosedError);
                else
                    Handle(item.Connection!, item.Buffer.Span[..item.Length], Stopwatch.GetTimestamp() - item.Arrived);
            }
            finally
            {
                item.Buffer?.Dispose();
            }
        }
    }

    private void Handle(IConnection connection, ReadOnlySpan<byte> frame, long queuedTicks)
    {
        _queuedTicks = queuedTicks;
        if (queuedTicks > 0)
            QueuedFrames++;
        try
        {
            _onFrame(connection, frame);
        }
        catch (Exception e)
        {
            // One bad frame or failed step must not stop the node: log it and go on.
            _logger.LogError(e, "{Inbox}: {Message}", _name, e.Message);
        }
    }

    private void Closed(IConnection connection, Exception? error)
    {
        try
        {
            _onClosed(connection, error);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "{Inbox}: {Message}", _name, e.Message);
        }
    }

    private void Run(Action work)
    {
        try
        {
            work();
        }
        catch (Exception e)
        {
            _logger.LogError(e, "{Inbox}: {Message}", _name, e.Message);
        }
    }

    /// <summary>
    /// Stops taking frames and waits (up to 5 s) for the one being handled, so the state it
    /// touches (a table's native memory) can be released safely afterwards.
    /// </summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _state) == Running && _runner == Environment.CurrentManagedThreadId)
        {
            // Disposed from inside a handler: nothing else can be running.
            Volatile.Write(ref _state, Disposed);
            return;
        }
        var deadline = Stopwatch.StartNew();
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref _state, Disposed, Idle) is int s && s != Idle && s != Disposed)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(5))
            {
                _logger.LogWarning("{Inbox}: a handler is still running after 5 s; closing anyway", _name);
                Volatile.Write(ref _state, Disposed);
                break;
            }
            spin.SpinOnce();
        }
        while (_queue.TryDequeue(out Item item))
            item.Buffer?.Dispose();
    }
}
