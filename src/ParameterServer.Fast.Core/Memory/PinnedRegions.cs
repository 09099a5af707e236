namespace ParameterServer.Fast.Core.Memory;

/// <summary>One announced block of pinned memory: <see cref="Length"/> bytes from <see cref="Address"/>, never moved.</summary>
/// <param name="Id">Stays the same while the block grows; never reused within a process.</param>
public readonly record struct PinnedRegion(long Id, nint Address, long Length)
{
    /// <summary>Whether [<paramref name="address"/>, + <paramref name="length"/>) lies entirely inside.</summary>
    public bool Contains(nint address, long length) =>
        address >= Address && length >= 0 && length <= Length - (address - Address);
}

/// <summary>Told of pinned memory that can be sent from in place (see <see cref="PinnedRegions"/>).</summary>
public interface IPinnedRegionObserver
{
    /// <summary>A region appeared, or grew (the same id, a longer length, the same address).</summary>
    void OnPinned(PinnedRegion region);

    /// <summary>The region is about to be freed: once this returns, nothing may read it.</summary>
    void OnUnpinning(PinnedRegion region);
}

/// <summary>
/// The tables' slabs that a transport may send from in place (an RDMA device registers them as
/// memory regions), announced by the slabs themselves: Core knows nothing of transports, so a
/// slab says here when it is committed, grown and about to be freed, and whoever subscribed
/// (each RDMA connection) is told at once. A subscriber is first told of every region that
/// exists, so slabs made before the first connection are covered too.
/// <para>
/// Callbacks run under one lock, in order, on the thread that allocates, grows or frees the
/// slab: a region is never freed while a subscriber is still registering it, and
/// <see cref="IPinnedRegionObserver.OnUnpinning"/> returns before the memory goes back to the
/// OS, which is what makes sending from it safe. Observers must not call back in here.
/// </para>
/// </summary>
public static class PinnedRegions
{
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<long, PinnedRegion> s_regions = [];
    private static IPinnedRegionObserver[] s_observers = [];
    private static long s_nextId;

    /// <summary>Regions announced now (tests and diagnostics).</summary>
    public static int Count
    {
        get
        {
            lock (s_lock)
                return s_regions.Count;
        }
    }

    /// <summary>The announced region holding all of [<paramref name="address"/>, + <paramref name="length"/>), if any (diagnostics and tests).</summary>
    public static bool TryFind(nint address, long length, out PinnedRegion region)
    {
        lock (s_lock)
        {
            foreach (PinnedRegion candidate in s_regions.Values)
            {
                if (candidate.Contains(address, length))
                {
                    region = candidate;
                    return true;
                }
            }
        }
        region = default;
        return false;
    }

    /// <summary>
    /// Tells <paramref name="observer"/> of every region now and of every change until the
    /// returned handle is disposed.
    /// </summary>
    public static IDisposable Subscribe(IPinnedRegionObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (s_lock)
        {
            s_observers = [.. s_observers, observer];
            foreach (PinnedRegion region in s_regions.Values)
                observer.OnPinned(region);
        }
        return new Subscription(observer);
    }

    /// <summary>A new region of <paramref name="length"/> bytes at <paramref name="address"/>; its id.</summary>
    internal static long Add(nint address, long length)
    {
        lock (s_lock)
        {
            var region = new PinnedRegion(++s_nextId, address, length);
            s_regions.Add(region.Id, region);
            foreach (IPinnedRegionObserver observer in s_observers)
                observer.OnPinned(region);
            return region.Id;
        }
    }

    /// <summary>Region <paramref name="id"/> now spans <paramref name="length"/> bytes.</summary>
    internal static void Grow(long id, long length)
    {
        lock (s_lock)
        {
            PinnedRegion region = s_regions[id] with { Length = length };
            s_regions[id] = region;
            foreach (IPinnedRegionObserver observer in s_observers)
                observer.OnPinned(region);
        }
    }

    /// <summary>Region <paramref name="id"/> is about to be freed; returns once every observer let go of it.</summary>
    internal static void Remove(long id)
    {
        lock (s_lock)
        {
            if (!s_regions.Remove(id, out PinnedRegion region))
                return;
            foreach (IPinnedRegionObserver observer in s_observers)
                observer.OnUnpinning(region);
        }
    }

    private static void Unsubscribe(IPinnedRegionObserver observer)
    {
        lock (s_lock)
            s_observers = Array.FindAll(s_observers, o => !ReferenceEquals(o, observer));
    }

    private sealed class Subscription(IPinnedRegionObserver observer) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                Unsubscribe(observer);
        }
    }
}
