using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Transport.Rdma;

/// <summary>
/// The tables' slabs registered with one connection's protection domain (each connection opens
/// its own device context, so each registers every slab): told by <see cref="PinnedRegions"/> of
/// every slab that exists when the connection starts and of every one allocated, grown or freed
/// later. A slab is deregistered before its memory is freed, and all of them when the queue pair
/// closes. A slab the device refuses (the memlock limit, ulimit -l) is left unregistered and
/// its sends are staged, as frames in pooled buffers are.
/// <para>
/// Every call on the channel is made under the connection's verbs lock; the sender's lookups
/// (<see cref="TryFind"/>) are made under it too. A linear scan: a server holds a handful of
/// tables, one weights slab each.
/// </para>
/// </summary>
internal sealed class RdmaSlabRegistrations(RdmaChannel channel, object verbsLock) : IPinnedRegionObserver
{
    private readonly List<(PinnedRegion Region, uint LocalKey)> _registered = [];
    private bool _channelGone;

    /// <summary>Slabs registered now (tests and diagnostics).</summary>
    public int Count
    {
        get
        {
            lock (verbsLock)
                return _registered.Count;
        }
    }

    /// <summary>Registrations the device refused, and why the last one was refused.</summary>
    public int Refused { get; private set; }

    public string? LastRefusal { get; private set; }

    public void OnPinned(PinnedRegion region)
    {
        lock (verbsLock)
        {
            if (_channelGone)
                return;
            int index = IndexOf(region.Id);
            if (channel.RegisterRegion(region.Id, region.Address, region.Length, out uint lkey) != NativeStatus.Ok)
            {
                // The old registration (if any) still covers the old extent: keep using it.
                Refused++;
                LastRefusal = PsfNative.LastError();
                return;
            }
            if (index >= 0)
                _registered[index] = (region, lkey);
            else
                _registered.Add((region, lkey));
        }
    }

    public void OnUnpinning(PinnedRegion region)
    {
        lock (verbsLock)
        {
            int index = IndexOf(region.Id);
            if (index < 0 || _channelGone)
                return;
            _registered.RemoveAt(index);
            // Also on a failed connection: the shim drops the registration whatever its state.
            channel.DeregisterRegion(region.Id);
        }
    }

    /// <summary>Under the verbs lock: the registered slab holding all of [address, + length), if any.</summary>
    public bool TryFind(nint address, long length, out long regionId)
    {
        foreach ((PinnedRegion region, _) in _registered)
        {
            if (region.Contains(address, length))
            {
                regionId = region.Id;
                return true;
            }
        }
        regionId = 0;
        return false;
    }

    /// <summary>The local key of the registered slab holding <paramref name="address"/>, or 0 (tests).</summary>
    public uint LocalKeyOf(nint address)
    {
        lock (verbsLock)
        {
            foreach ((PinnedRegion region, uint lkey) in _registered)
            {
                if (region.Contains(address, 1))
                    return lkey;
            }
            return 0;
        }
    }

    /// <summary>Under the verbs lock, as the channel is closed: closing it dropped every registration.</summary>
    public void ChannelGone()
    {
        _channelGone = true;
        _registered.Clear();
    }

    private int IndexOf(long id)
    {
        for (int i = 0; i < _registered.Count; i++)
        {
            if (_registered[i].Region.Id == id)
                return i;
        }
        return -1;
    }
}
