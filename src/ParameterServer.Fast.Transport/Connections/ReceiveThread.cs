namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// Lets a frame handler run user code (a request's continuation) right on the receive thread
/// that brought the answer, with no hop to another thread: on 2 cores that hop is most of a small
/// request's round trip over shared memory. The handler lends the thread with
/// <see cref="TryLend"/>; from then on the frame's span is no longer valid (the transport has
/// released it) and the handler must not touch the connection's receive state, since the next
/// frames, and even <see cref="IFrameHandler.OnClosed"/>, may be delivered on another thread
/// while this one is still inside the handler: if the thread neither comes back to its receive
/// loop nor sends on that connection within a tick of the <see cref="ReceiveWatchdog"/>
/// (1-2 ms), another takes over receiving. So a continuation that blocks (waits for another
/// answer on this connection, or sends into a peer whose buffers are full because we are not
/// reading) cannot deadlock the connection; it only delays the frames behind it by a tick. After
/// a take-over the connection pauses lending, 1 ms at first, longer when take-overs follow one
/// another (<see cref="ReceiverBaton"/>).
/// </summary>
public static class ReceiveThread
{
    [ThreadStatic] private static ReceiverBaton? t_baton;
    // The baton's state as this thread lent it (never 0), or 0.
    [ThreadStatic] private static long t_lent;

    /// <summary>
    /// True when the calling thread may run user code now: it is inside a frame handler called by
    /// a transport that can hand its receiving to another thread, and it has released the frame.
    /// False off a receive thread, on a transport that cannot, or while lending is paused after a
    /// take-over (the caller then hands the work to another thread).
    /// </summary>
    public static bool TryLend()
    {
        if (t_lent != 0)
            return true;
        if (t_baton is not { } baton)
            return false;
        t_lent = baton.Lend();
        return t_lent != 0;
    }

    /// <summary>
    /// A transport sent a record on the connection of <paramref name="baton"/>: when that is the
    /// connection this thread is lent from, on the lend still current, it is progress the watchdog
    /// sees (a thread sending elsewhere, or taken over already, proves nothing about this one).
    /// </summary>
    internal static void NoteSent(ReceiverBaton? baton)
    {
        if (t_lent != 0 && ReferenceEquals(t_baton, baton) && baton!.State == t_lent)
            baton.NoteSent();
    }

    /// <summary>Around one frame handler call: the handler may lend this thread through <paramref name="baton"/>.</summary>
    internal static void Enter(ReceiverBaton baton)
    {
        t_baton = baton;
        t_lent = 0;
    }

    /// <summary>The handler call ended: the state it lent the thread at (to reclaim with), or 0.</summary>
    internal static long Leave()
    {
        long lent = t_lent;
        t_baton = null;
        t_lent = 0;
        return lent;
    }
}
