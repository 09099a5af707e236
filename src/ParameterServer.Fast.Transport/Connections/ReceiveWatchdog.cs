namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// One thread per process that looks at every <see cref="ReceiverBaton"/> each millisecond and
/// takes over those whose thread is on the same lend to user code as at its last look and has
/// sent nothing since (a thread sending a large request is busy, not stuck), so a
/// continuation that blocks or runs long delays its connection's next frames by 1-2 ms (2-3 ms
/// right after the watchdog wakes). It parks after a fifth of a second with no lends (an idle
/// process costs no wake-ups) and the next lend wakes it.
/// </summary>
internal static class ReceiveWatchdog
{
    private const int TickMs = 1;
    private const int IdleTicksBeforeParking = 200;

    private static readonly object s_lock = new();
    private static readonly ManualResetEventSlim s_wake = new(false, 0);
    private static ReceiverBaton[] s_batons = [];
    private static Thread? s_thread;
    private static volatile bool s_parked;

    public static void Watch(ReceiverBaton baton)
    {
        lock (s_lock)
        {
            s_batons = [.. s_batons, baton];
            if (s_thread is null)
            {
                s_thread = new Thread(Run) { IsBackground = true, Name = "psf-receive-watchdog" };
                s_thread.UnsafeStart(); // no caller's execution context to carry
            }
        }
    }

    public static void Forget(ReceiverBaton baton)
    {
        lock (s_lock)
            s_batons = Array.FindAll(s_batons, b => b != baton);
    }

    /// <summary>After a lend (which is a full fence): wakes the watchdog if it parked.</summary>
    public static void Lent()
    {
        if (s_parked)
            s_wake.Set();
    }

    private static void Run()
    {
        int idleTicks = 0;
        while (true)
        {
            Thread.Sleep(TickMs);
            bool busy = false;
            foreach (ReceiverBaton baton in Volatile.Read(ref s_batons))
            {
                long state = baton.State, sent = baton.Sent;
                bool lent = (state & 1) != 0;
                if (lent && state == baton.StateAtLastTick && sent == baton.SentAtLastTick)
                    baton.TakeOver(state);
                busy |= lent || state != baton.StateAtLastTick;
                baton.StateAtLastTick = state;
                baton.SentAtLastTick = sent;
            }
            idleTicks = busy ? 0 : idleTicks + 1;
            if (idleTicks >= IdleTicksBeforeParking)
            {
                Park();
                idleTicks = 0;
            }
        }
    }

    private static void Park()
    {
        s_wake.Reset();
        s_parked = true;
        Interlocked.MemoryBarrier();
        if (!Array.Exists(Volatile.Read(ref s_batons), b => (b.State & 1) != 0))
            s_wake.Wait();
        s_parked = false;
    }
}
