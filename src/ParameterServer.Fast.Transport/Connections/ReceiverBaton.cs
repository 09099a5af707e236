using System.Diagnostics;

namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// The right to receive on one connection, held by one receive loop at a time. The holder may
/// lend its thread to user code (<see cref="ReceiveThread.TryLend"/>); the
/// <see cref="ReceiveWatchdog"/> takes the turn of a holder that is still on the same lend a tick
/// later and has sent nothing meanwhile, and starts the loop on a new thread; the old thread,
/// back from user code, finds its lend gone and leaves without touching the connection. After a take-over the connection lends
/// no more for a pause that doubles with each take-over in a row, from 1 ms up to 100 ms, and
/// starts again at 1 ms once a lend comes back in time: user code that keeps the thread every
/// time (a training step, a blocking wait) would otherwise cost a new thread, and 1-2 ms of frames
/// not read, at every request, while a single slow continuation costs almost nothing.
/// </summary>
internal sealed class ReceiverBaton
{
    private static readonly long s_shortestPause = Stopwatch.Frequency / 1000; // 1 ms
    private static readonly long s_longestPause = Stopwatch.Frequency / 10; // 100 ms

    private readonly Action _releaseFrame;
    private readonly Action _startReceiver;
    // (turn << 1) | 1 while the holder's thread is lent. The turn goes up with every lend and
    // every take-over, so the watchdog's compare-and-swap hits only the very lend it saw at its
    // last tick. While not lent only the holder writes it; while lent, the holder (reclaiming)
    // and the watchdog (taking over) race through compare-and-swap.
    private long _state;
    private long _lendAgainAt;
    // The next pause; a heuristic, so the watchdog and the holder may race on it harmlessly.
    private long _pause = s_shortestPause;
    // Records the lent thread has sent on this connection: a thread sending on is not stuck (a
    // continuation that sends a large request through a ring the peer is draining), one that
    // neither comes back nor sends is. Sending here limits itself: if the peer stops reading
    // because we do not read, the ring fills, the send waits, and the count stops.
    private long _sent;
    private volatile bool _retired;

    /// <param name="releaseFrame">Called on the receive thread when it is lent: the transport lets go of the current frame.</param>
    /// <param name="startReceiver">Starts the receive loop on a new thread.</param>
    public ReceiverBaton(Action releaseFrame, Action startReceiver)
    {
        _releaseFrame = releaseFrame;
        _startReceiver = startReceiver;
        ReceiveWatchdog.Watch(this);
    }

    public long State => Volatile.Read(ref _state);

    public long Sent => Volatile.Read(ref _sent);

    /// <summary>On the lent thread: it sent a record.</summary>
    internal void NoteSent() => Volatile.Write(ref _sent, _sent + 1);

    /// <summary>Written by the watchdog only: <see cref="Sent"/> as it saw it at its last tick.</summary>
    internal long SentAtLastTick { get; set; } = -1;

    /// <summary>Written by the watchdog only: <see cref="State"/> as it saw it at its last tick.</summary>
    internal long StateAtLastTick { get; set; } = -1;

    /// <summary>On the holder's thread, inside a handler call: the lent state to reclaim with, or 0 when lending is paused.</summary>
    internal long Lend()
    {
        if (Stopwatch.GetTimestamp() < Volatile.Read(ref _lendAgainAt))
            return 0;
        _releaseFrame();
        long lent = (((_state >> 1) + 1) << 1) | 1;
        // A full fence: either the watchdog sees this lend before it parks, or we see it parked.
        Interlocked.Exchange(ref _state, lent);
        ReceiveWatchdog.Lent();
        return lent;
    }

    /// <summary>On the thread that lent, back in its receive loop: true while it still holds the turn (then it receives on).</summary>
    public bool TryReclaim(long lent)
    {
        if (Interlocked.CompareExchange(ref _state, lent & ~1L, lent) != lent)
            return false;
        if (Volatile.Read(ref _pause) != s_shortestPause)
            Volatile.Write(ref _pause, s_shortestPause);
        return true;
    }

    /// <summary>By the watchdog: the holder is still on the lend it saw; a new turn receives on a new thread.</summary>
    internal void TakeOver(long seen)
    {
        if ((seen & 1) == 0 || _retired)
            return;
        long next = ((seen >> 1) + 1) << 1;
        if (Interlocked.CompareExchange(ref _state, next, seen) != seen)
            return;
        long pause = Volatile.Read(ref _pause);
        Volatile.Write(ref _lendAgainAt, Stopwatch.GetTimestamp() + pause);
        Volatile.Write(ref _pause, Math.Min(pause * 2, s_longestPause));
        _startReceiver();
    }

    /// <summary>The connection closed: no more take-overs.</summary>
    public void Retire()
    {
        _retired = true;
        ReceiveWatchdog.Forget(this);
    }
}
