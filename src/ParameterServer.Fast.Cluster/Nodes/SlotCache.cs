using ParameterServer.Fast.Codec.Keys;
using ParameterServer.Fast.Core.Tables;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// The server's half of key caching: for a key list a worker names by signature, the table slots
/// its keys resolved to the first time. A repeated push or pull then skips the key → slot lookup
/// (one cache miss per key) and goes straight to the scatter/gather kernels. Slots never move (rows
/// are appended to a slab that does not relocate) and keys are never removed, so an entry stays
/// valid for as long as its table part exists; the cache is emptied when the range map changes.
/// Bounded: past <see cref="CapacitySlots"/> slots in all, it starts over.
/// </summary>
internal sealed class SlotCache(long capacitySlots = 16L << 20)
{
    private readonly Dictionary<KeySignature, (Table Part, int[] Slots)> _entries = [];
    private long _slotsHeld;

    public long CapacitySlots { get; } = capacitySlots;

    public long Hits { get; private set; }

    public bool TryGet(KeySignature signature, int keyCount, out Table part, out int[] slots)
    {
        if (_entries.TryGetValue(signature, out (Table Part, int[] Slots) entry) && entry.Slots.Length == keyCount)
        {
            Hits++;
            (part, slots) = entry;
            return true;
        }
        part = null!;
        slots = null!;
        return false;
    }

    public void Add(KeySignature signature, Table part, int[] slots)
    {
        if (slots.Length > CapacitySlots)
            return;
        if (_slotsHeld + slots.Length > CapacitySlots)
            Clear();
        if (_entries.TryAdd(signature, (part, slots)))
            _slotsHeld += slots.Length;
    }

    public void Clear()
    {
        _entries.Clear();
        _slotsHeld = 0;
    }
}
