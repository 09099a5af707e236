using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Funnels the frames of every connection of a node into one thread, in arrival order: the
/// node's state (tables, clocks, membership) is then owned by that thread and needs no locks.
/// A frame is copied once into a pooled pinned buffer to outlive the transport's receive call.
/// </summary>
internal sealed class Inbox : IFrameHandler, IDisposable
{
    private readonly BlockingCollection<Item> _queue = new();
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private readonly Action<IConnection, ReadOnlySpan<byte>> _onFrame;
    private readonly Action<IConnection, Exception?> _onClosed;

    private readonly record struct Item(IConnection? Connection, PinnedBuffer? Buffer, int Length, Exception? ClosedError, Action? Work);

    public Inbox(string name, ILogger logger, Action<IConnection, ReadOnlySpan<byte>> onFrame, Action<IConnection, Exception?> onClosed)
    {
        _logger = logger;
        _onFrame = onFrame;
        _onClosed = onClosed;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public void OnFrame(IConnection connection, ReadOnlySpan<byte> frame)
    {
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(Math.Max(1, frame.Length));
        frame.CopyTo(buffer.Span);
        if (!TryAdd(new Item(connection, buffer, frame.Length, null, null)))
            buffer.Dispose();
    }

    public void OnClosed(IConnection connection, Exception? error) => TryAdd(new Item(connection, null, -1, error, null));

    /// <summary>Runs <paramref name="work"/> on the inbox thread (timers, local calls).</summary>
    public bool Post(Action work) => TryAdd(new Item(null, null, 0, null, work));

    private bool TryAdd(Item item)
    {
        try
        {
            return !_queue.IsAddingCompleted && _queue.TryAdd(item);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private void Run()
    {
        foreach (Item item in _queue.GetConsumingEnumerable())
        {
            try
            {
                if (item.Work is not null)
                    item.Work();
                else if (item.Buffer is null)
                    _onClosed(item.Connection!, item.ClosedError);
                else
                    _onFrame(item.Connection!, item.Buffer.Span[..item.Length]);
            }
            catch (Exception e)
            {
                // One bad frame or failed step must not stop the node: log it and go on.
                _logger.LogError(e, "{Thread}: {Message}", _thread.Name, e.Message);
            }
            finally
            {
                item.Buffer?.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        if (Thread.CurrentThread != _thread)
            _thread.Join(TimeSpan.FromSeconds(5));
    }
}
