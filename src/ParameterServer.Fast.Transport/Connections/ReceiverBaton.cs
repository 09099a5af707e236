namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// The right to receive on one connection, held by one receive loop at a time under an epoch.
/// The holder may lend its thread to user code (<see cref="ReceiveThread.TryLend"/>); the
/// <see cref="ReceiveWatchdog"/> takes the turn of a holder away for a whole tick and starts the
/// loop on a new thread under the next epoch, and the old thread, back from user code, finds its
/// epoch gone and leaves without touching the connection.
/// </summary>
internal sealed class ReceiverBaton
{
    private readonly Action _releaseFrame;
    private readonly Action<long> _startReceiver;
    // epoch << 1, with the low bit set while the holder's thread is lent to user code.
    private long _state;
    // Lends so far: the watchdog takes over only a lend it already saw at its last tick.
    private long _lends;
    private volatile bool _retired;

    /// <param name="releaseFrame">Called on the receive thread when it is lent: the transport lets go of the current frame.</param>
    /// <param name="startReceiver">Starts the receive loop on a new thread under the given epoch.</param>
    public ReceiverBaton(Action releaseFrame, Action<long> startReceiver)
    {
        _releaseFrame = releaseFrame;
        _startReceiver = startReceiver;
        ReceiveWatchdog.Watch(this);
    }

    /// <summary>Written by the watchdog only: <see cref="Lends"/> as it saw it at its last tick.</summary>
    internal long LendsAtLastTick { get; set; } = -1;

    public long Lends => Volatile.Read(ref _lends);

    public bool IsLent => (Volatile.Read(ref _state) & 1) != 0;

    /// <summary>On the holder's thread, inside a handler call.</summary>
    internal void Lend()
    {
        _releaseFrame();
        Volatile.Write(ref _lends, _lends + 1);
        // A full fence: either the watchdog sees this lend before it parks, or we see it parked.
        Interlocked.Exchange(ref _state, _state | 1);
        ReceiveWatchdog.Lent();
    }

    /// <summary>On the thread that lent, back in its receive loop: true while it still holds <paramref name="epoch"/> (then it receives on).</summary>
    public bool TryReclaim(long epoch)
    {
        long lent = (epoch << 1) | 1;
        return Interlocked.CompareExchange(ref _state, epoch << 1, lent) == lent;
    }

    /// <summary>By the watchdog: the holder is still away in user code; the next epoch receives on a new thread.</summary>
    internal void TakeOver()
    {
        long state = Volatile.Read(ref _state);
        if ((state & 1) == 0 || _retired)
            return;
        long next = state + 1; // (epoch + 1) << 1, not lent
        if (Interlocked.CompareExchange(ref _state, next, state) == state)
            _startReceiver(next >> 1);
    }

    /// <summary>The connection closed: no more take-overs.</summary>
    public void Retire()
    {
        _retired = true;
        ReceiveWatchdog.Forget(this);
    }
}
