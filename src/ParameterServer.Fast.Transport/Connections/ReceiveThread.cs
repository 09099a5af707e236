namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// Lets a frame handler run user code (a request's continuation) right on the receive thread
/// that brought the answer, with no hop to another thread: on 2 cores that hop is most of a small
/// request's round trip over shared memory. The handler lends the thread with
/// <see cref="TryLend"/>; from then on the frame's span is no longer valid (the transport has
/// released it), and if the thread does not come back to its receive loop within a tick of the
/// <see cref="ReceiveWatchdog"/> (1-2 ms), another thread takes over receiving. So a
/// continuation that blocks (waits for another answer on this connection, or sends into a peer
/// whose buffers are full because we are not reading) cannot deadlock the connection; it only
/// delays the frames behind it by a tick.
/// </summary>
public static class ReceiveThread
{
    [ThreadStatic] private static ReceiverBaton? t_baton;
    [ThreadStatic] private static bool t_lent;

    /// <summary>
    /// True when the calling thread may run user code now: it is inside a frame handler called by
    /// a transport that can hand its receiving to another thread, and it has released the frame.
    /// False off a receive thread, or on a transport that cannot (the caller then hands the work to
    /// another thread, as before).
    /// </summary>
    public static bool TryLend()
    {
        if (t_lent)
            return true;
        if (t_baton is not { } baton)
            return false;
        baton.Lend();
        t_lent = true;
        return true;
    }

    /// <summary>Around one frame handler call: the handler may lend this thread through <paramref name="baton"/>.</summary>
    internal static void Enter(ReceiverBaton baton)
    {
        t_baton = baton;
        t_lent = false;
    }

    /// <summary>The handler call ended: whether it lent the thread.</summary>
    internal static bool Leave()
    {
        bool lent = t_lent;
        t_baton = null;
        t_lent = false;
        return lent;
    }
}
