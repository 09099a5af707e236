namespace ParameterServer.Fast.Codec.Keys;

/// <summary>
/// Key lists remembered by <see cref="KeySignature"/>, least recently used evicted first, within a
/// byte budget. One per peer and direction, owned by that connection's thread (not thread-safe).
/// <para>
/// Both ends keep one: the sender's says which lists the peer has been sent (so a repeated push
/// carries 16 bytes instead of the list, and it can answer a <c>KeyListRequest</c>); the receiver's
/// turns a signature back into keys. The two evict independently: a receiver miss is answered with
/// <c>KeyListRequest</c> and the sender resends the full list, never with wrong values, because a
/// hit needs both the 128-bit signature and the key count to match.
/// </para>
/// Lookups and hits allocate nothing; remembering a new list allocates its copy.
/// </summary>
public sealed class KeyCache
{
    // Dictionary entry, list node and array header of one remembered list, roughly.
    private const long EntryOverheadBytes = 96;

    private readonly Dictionary<KeySignature, LinkedListNode<Entry>> _map = [];
    private readonly LinkedList<Entry> _lru = new();

    /// <summary>64 MiB: 8 M cached keys per peer.</summary>
    public const long DefaultCapacityBytes = 64L << 20;

    public KeyCache(long capacityBytes = DefaultCapacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        CapacityBytes = capacityBytes;
    }

    /// <summary>The budget in bytes.</summary>
    public long CapacityBytes { get; }

    public long BytesHeld { get; private set; }

    public int Count => _map.Count;

    public long Hits { get; private set; }

    public long Misses { get; private set; }

    public long Evictions { get; private set; }

    /// <summary>The cached list with this signature and count (moved to most recently used), or false.</summary>
    public bool TryGet(KeySignature signature, int count, out ReadOnlySpan<ulong> keys)
    {
        if (_map.TryGetValue(signature, out LinkedListNode<Entry>? node) && node.Value.Keys.Length == count)
        {
            Touch(node);
            Hits++;
            keys = node.Value.Keys;
            return true;
        }
        Misses++;
        keys = default;
        return false;
    }

    /// <summary>True when the list is cached; marks it used, so what a sender relies on stays longest.</summary>
    public bool Contains(KeySignature signature, int count)
    {
        if (_map.TryGetValue(signature, out LinkedListNode<Entry>? node) && node.Value.Keys.Length == count)
        {
            Touch(node);
            return true;
        }
        return false;
    }

    /// <summary>Remembers a copy of <paramref name="keys"/> under its signature; returns the signature.</summary>
    public KeySignature Remember(ReadOnlySpan<ulong> keys)
    {
        KeySignature signature = KeySignature.Compute(keys);
        Remember(signature, keys);
        return signature;
    }

    /// <summary>
    /// Remembers a copy of <paramref name="keys"/> under <paramref name="signature"/>, evicting the least
    /// recently used lists until it fits. A list larger than the whole budget is not cached (false).
    /// </summary>
    public bool Remember(KeySignature signature, ReadOnlySpan<ulong> keys)
    {
        long cost = Cost(keys.Length);
        if (cost > CapacityBytes)
            return false;
        if (_map.TryGetValue(signature, out LinkedListNode<Entry>? existing))
        {
            if (existing.Value.Keys.AsSpan().SequenceEqual(keys))
            {
                Touch(existing);
                return true;
            }
            Remove(existing);
        }
        while (BytesHeld + cost > CapacityBytes && _lru.Last is { } victim)
        {
            Remove(victim);
            Evictions++;
        }
        var node = _lru.AddFirst(new Entry(signature, keys.ToArray()));
        _map.Add(signature, node);
        BytesHeld += cost;
        return true;
    }

    public bool Forget(KeySignature signature)
    {
        if (!_map.TryGetValue(signature, out LinkedListNode<Entry>? node))
            return false;
        Remove(node);
        return true;
    }

    public void Clear()
    {
        _map.Clear();
        _lru.Clear();
        BytesHeld = 0;
    }

    private static long Cost(int keyCount) => (8L * keyCount) + EntryOverheadBytes;

    private void Touch(LinkedListNode<Entry> node)
    {
        if (node != _lru.First)
        {
            _lru.Remove(node);
            _lru.AddFirst(node);
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _lru.Remove(node);
        _map.Remove(node.Value.Signature);
        BytesHeld -= Cost(node.Value.Keys.Length);
    }

    private sealed record Entry(KeySignature Signature, ulong[] Keys);
}
