using System.Diagnostics;
using System.Runtime.ExceptionServices;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Runs the continuations of a worker's completed requests: on the receive thread that brought
/// the answer where the transport lends it (below), else on a thread of its own that stays
/// awake for a moment after each one, so an application issuing requests one after another
/// finds it spinning when the next answer arrives. Through the thread pool every answer cost a
/// hop to a pool thread that had often parked: 4-key push p50 over TCP 70-82 µs instead of
/// 16-21 µs, over shared memory 16-30 µs per round trip, nearly all of it wake-ups.
/// <para>
/// A continuation runs on the receive thread that brought the answer only when the transport can
/// lend that thread (<see cref="ReceiveThread.TryLend"/>: shared memory), because user code there
/// could block in a send to a peer whose receive thread blocks in a send to us (two peers with
/// full buffers), or wait for an answer only that thread can deliver; a lent thread away too long
/// has its receiving taken over by another. That saves the hand-off below, most of a 4-key round
/// trip over shared memory on 2 cores (about 2 µs instead of 5-10 µs p50). TCP could lend too,
/// and was slower for it (4-key p50 16-18 µs against 13 µs, same machine): its receive thread
/// sleeps in recv, so the answer wakes an idle core, which this thread's spinning keeps awake.
/// Elsewhere the hand-off is one slot, taken only while the completion thread is idle; when it is
/// busy (a continuation still running, perhaps blocked) the ticket goes to the thread pool, so
/// no answer ever waits behind user code.
/// </para>
/// </summary>
internal sealed class TicketCompletions : IDisposable
{
    // 100 µs: longer than a 4-key round trip over loopback TCP (16-35 µs here) with margin for a
    // busy machine, short enough that an idle worker burns at most a tenth of a millisecond of
    // CPU per answer before parking.
    private static readonly long s_spinTicks = Stopwatch.Frequency / 10_000;
    // 1 µs of pure spinning, then a sched_yield between looks: on 2 shared cores the receive
    // thread we wait for may be queued behind us (the shm shim measured the same, see psf_shm_wait.c).
    private static readonly long s_yieldAfterTicks = Math.Max(1, Stopwatch.Frequency / 1_000_000);
    // 100 ms naps while parked, so a stop is noticed without a wake-up.
    private const int ParkMs = 100;

    private readonly ManualResetEventSlim _wake = new(false, 0);
    private readonly Thread _thread;
    // The one hand-off slot: null while the thread is idle, a ticket handed over, or s_busy while
    // a continuation runs (and for good once the thread has stopped).
    private object? _slot;
    private static readonly object s_busy = new();
    private volatile bool _parked;
    private volatile bool _stopping;

    public TicketCompletions(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>
    /// Continuations run right on the thread that brought the answer (the receive thread), with
    /// no hand-off (<see cref="WorkerClient.InlineContinuations"/>): for callers whose
    /// continuations never block.
    /// </summary>
    public bool Inline { get; set; }

    /// <summary>
    /// Runs <paramref name="ticket"/>'s continuation: right here when the calling receive thread
    /// can be lent to it (shared memory: see <see cref="ReceiveThread"/>) or when asked to, else
    /// on the completion thread when idle, else on the pool.
    /// </summary>
    public void Complete(RequestTicket ticket)
    {
        if (!_stopping && (ReceiveThread.TryLend() || Inline))
        {
            RunHere(ticket);
            return;
        }
        if (_stopping || Interlocked.CompareExchange(ref _slot, ticket, null) is not null)
        {
            ThreadPool.UnsafeQueueUserWorkItem(ticket, preferLocal: false);
            return;
        }
        // The exchange above is a full fence: either the thread sees the slot before it parks,
        // or we see it parked here.
        if (_parked)
            _wake.Set();
        // Stopped meanwhile: take the ticket back unless the thread took it (to run or to pool).
        if (_stopping && Interlocked.CompareExchange(ref _slot, null, ticket) == ticket)
            ThreadPool.UnsafeQueueUserWorkItem(ticket, preferLocal: false);
    }

    // On a receive thread: user code's exception is the user's, not the connection's, so it is
    // rethrown on the pool, as it would have been thrown on the completion thread or the pool.
    private static void RunHere(RequestTicket ticket)
    {
        try
        {
            ((IThreadPoolWorkItem)ticket).Execute();
        }
        catch (Exception e)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static failure => failure.Throw(), ExceptionDispatchInfo.Capture(e), preferLocal: false);
        }
    }

    private void Run()
    {
        while (!_stopping)
        {
            if (Volatile.Read(ref _slot) is RequestTicket ticket && Interlocked.CompareExchange(ref _slot, s_busy, ticket) == ticket)
            {
                ((IThreadPoolWorkItem)ticket).Execute();
                Volatile.Write(ref _slot, null);
                continue;
            }
            if (!SpinForTicket())
                Park();
        }
        // Whatever was handed over last still completes.
        if (Interlocked.Exchange(ref _slot, s_busy) is RequestTicket last)
            ThreadPool.UnsafeQueueUserWorkItem(last, preferLocal: false);
    }

    private bool SpinForTicket()
    {
        long start = Stopwatch.GetTimestamp();
        for (int spins = 1; ; spins++)
        {
            if (Volatile.Read(ref _slot) is not null || _stopping)
                return true;
            if (spins % 32 != 0)
            {
                Thread.SpinWait(4);
                continue;
            }
            long elapsed = Stopwatch.GetTimestamp() - start;
            if (elapsed >= s_spinTicks)
                return false;
            if (elapsed >= s_yieldAfterTicks)
                Thread.Yield();
        }
    }

    private void Park()
    {
        _wake.Reset();
        _parked = true;
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _slot) is null && !_stopping)
            _wake.Wait(ParkMs);
        _parked = false;
    }

    /// <summary>Stops the thread (within one nap) and waits for it, unless called from it.</summary>
    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        if (Thread.CurrentThread != _thread)
            _thread.Join(TimeSpan.FromSeconds(2));
    }
}
