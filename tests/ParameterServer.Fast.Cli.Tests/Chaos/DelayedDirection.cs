using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Threading.Channels;

namespace ParameterServer.Fast.Cli.Tests.Chaos;

/// <summary>
/// One direction of a <see cref="RelayedConnection"/>: what is read from one socket is written to
/// the other no earlier than <c>delay</c> after it was read, in order, through a timed queue; the
/// end of the stream (FIN) travels the same way and becomes a shutdown of the sending side. A
/// failure of either socket throws, so the connection can reset both ends.
/// </summary>
internal sealed class DelayedDirection
{
    // 64 KiB reads: one receive drains what a busy TCP window holds. 256 of them queued bound the
    // bytes in flight to 16 MiB a direction; when the queue is full the reader waits, and TCP's
    // own flow control pushes back on the sender, as a slow link would.
    private const int ChunkBytes = 64 * 1024;
    private const int QueuedChunks = 256;

    private readonly Socket _from;
    private readonly Socket _to;
    private readonly long _delayTicks;
    private readonly Action<int> _relayed;
    private readonly Channel<Chunk> _queue = Channel.CreateBounded<Chunk>(
        new BoundedChannelOptions(QueuedChunks) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    public DelayedDirection(Socket from, Socket to, TimeSpan delay, Action<int> relayed)
    {
        _from = from;
        _to = to;
        _delayTicks = (long)(delay.TotalSeconds * Stopwatch.Frequency);
        _relayed = relayed;
    }

    /// <summary>Reads until the end of the stream; throws when the socket fails (a reset).</summary>
    public async Task ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
            int read;
            try
            {
                read = await _from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                _queue.Writer.TryComplete();
                throw;
            }
            // A read of 0 bytes is the peer's FIN: it is queued like data, so it is delayed too.
            await _queue.Writer.WriteAsync(new Chunk(buffer, read, Stopwatch.GetTimestamp() + _delayTicks), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _queue.Writer.TryComplete();
                return;
            }
        }
    }

    /// <summary>Writes each chunk once it is due; ends after passing the FIN on.</summary>
    public async Task WriteAsync(CancellationToken cancellationToken)
    {
        await foreach (Chunk chunk in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await WaitUntilAsync(chunk.Due, cancellationToken).ConfigureAwait(false);
                if (chunk.Length == 0)
                {
                    _to.Shutdown(SocketShutdown.Send);
                    return;
                }
                for (int sent = 0; sent < chunk.Length;)
                    sent += await _to.SendAsync(chunk.Buffer.AsMemory(sent, chunk.Length - sent), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                _relayed(chunk.Length);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk.Buffer);
            }
        }
    }

    // Timers have millisecond steps and may fire a little early against the Stopwatch, so the wait
    // is repeated until the due time has really passed: a chunk is never released before it.
    private static async Task WaitUntilAsync(long due, CancellationToken cancellationToken)
    {
        for (long left; (left = due - Stopwatch.GetTimestamp()) > 0;)
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(left * 1000.0 / Stopwatch.Frequency))), cancellationToken).ConfigureAwait(false);
    }

    private readonly record struct Chunk(byte[] Buffer, int Length, long Due);
}
