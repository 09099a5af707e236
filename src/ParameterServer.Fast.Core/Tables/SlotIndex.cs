using System.Runtime.CompilerServices;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Tables;

/// <summary>
/// The key → slot map of a sparse table: open addressing with linear probing over 8-byte entries,
/// and the keys themselves in a slot-ordered array.
/// <code>
///   entry (8 bytes):  [ tag: high 32 bits of the key's hash | slot + 1 : 32 bits ]   0 = empty
///   keys  (8 bytes):  keys[slot] = the key of that slot, to confirm a tag match
/// </code>
/// At the 0.75 maximum load this is 8 / 0.75 + 8 ≈ 18.7 bytes per key before values.
/// <para>
/// Growth never stops the world: a full index allocates one twice the size and moves 32 old
/// buckets per insert; until the old index is drained, lookups try the new index then the old.
/// A moved bucket is left as a "moved" marker so the old probe chains stay intact.
/// </para>
/// </summary>
internal sealed class SlotIndex : IDisposable
{
    private const ulong Empty = 0;
    private const ulong Moved = ulong.MaxValue;
    private const int MigrationStep = 32;
    private const int InitialCapacity = 1024;

    private NativeSlab _entries;
    private ulong _mask;
    private NativeSlab? _old;
    private ulong _oldMask;
    private ulong _migrated;
    private readonly NativeSlab _keys;
    private readonly SlabOptions _options;

    public SlotIndex(long maxKeys, SlabOptions options)
    {
        _options = options;
        _entries = NativeSlab.Allocate(InitialCapacity * sizeof(ulong), options);
        _mask = InitialCapacity - 1;
        _keys = NativeSlab.Reserve(maxKeys * sizeof(ulong), options);
        MaxKeys = maxKeys;
    }

    public long Count { get; private set; }

    public long MaxKeys { get; }

    public long Capacity => (long)_mask + 1;

    public bool IsMigrating => _old is not null;

    public long BytesHeld => _entries.CommittedBytes + (_old?.CommittedBytes ?? 0) + _keys.CommittedBytes;

    /// <summary>The key stored in <paramref name="slot"/>.</summary>
    public ulong KeyAt(int slot) => Unsafe.Add(ref _keys.GetReference<ulong>(), slot);

    /// <summary>The slot of <paramref name="key"/>, or −1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ulong key)
    {
        ulong hash = KeyHash.Mix(key);
        int slot = Probe(_entries, _mask, hash, key);
        if (slot < 0 && _old is not null)
            slot = Probe(_old, _oldMask, hash, key);
        return slot;
    }

    /// <summary>The slot of <paramref name="key"/>, adding it as slot <see cref="Count"/> when absent.</summary>
    public int GetOrAdd(ulong key, out bool added)
    {
        int slot = Find(key);
        if (slot >= 0)
        {
            added = false;
            return slot;
        }
        if (Count >= MaxKeys)
            throw new InvalidOperationException($"sparse table is full: {MaxKeys} keys");
        if (_old is not null)
            Migrate(MigrationStep);
        if ((Count + 1) * 4 > Capacity * 3)
            StartGrowth();
        slot = (int)Count;
        _keys.EnsureCommitted((Count + 1) * sizeof(ulong));
        Unsafe.Add(ref _keys.GetReference<ulong>(), slot) = key;
        Insert(_entries, _mask, KeyHash.Mix(key), slot);
        Count++;
        added = true;
        return slot;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Probe(NativeSlab table, ulong mask, ulong hash, ulong key)
    {
        ref ulong entries = ref table.GetReference<ulong>();
        ref ulong keys = ref _keys.GetReference<ulong>();
        uint tag = (uint)(hash >> 32);
        ulong i = hash & mask;
        while (true)
        {
            ulong e = Unsafe.Add(ref entries, (nint)i);
            if (e == Empty)
                return -1;
            if (e != Moved && (uint)(e >> 32) == tag)
            {
                int slot = (int)(uint)e - 1;
                if (Unsafe.Add(ref keys, slot) == key)
                    return slot;
            }
            i = (i + 1) & mask;
        }
    }

    private static void Insert(NativeSlab table, ulong mask, ulong hash, int slot)
    {
        ref ulong entries = ref table.GetReference<ulong>();
        ulong i = hash & mask;
        while (Unsafe.Add(ref entries, (nint)i) != Empty)
            i = (i + 1) & mask;
        Unsafe.Add(ref entries, (nint)i) = (hash & 0xFFFF_FFFF_0000_0000UL) | (uint)(slot + 1);
    }

    private void StartGrowth()
    {
        // A second growth before the first drained: finish the first (bounded: one old index).
        if (_old is not null)
            Migrate(long.MaxValue);
        long capacity = Capacity * 2;
        _old = _entries;
        _oldMask = _mask;
        _migrated = 0;
        _entries = NativeSlab.Allocate(capacity * sizeof(ulong), _options);
        _mask = (ulong)capacity - 1;
    }

    private void Migrate(long buckets)
    {
        NativeSlab old = _old!;
        ref ulong entries = ref old.GetReference<ulong>();
        ref ulong keys = ref _keys.GetReference<ulong>();
        ulong end = _oldMask + 1;
        while (buckets-- > 0 && _migrated < end)
        {
            ref ulong e = ref Unsafe.Add(ref entries, (nint)_migrated);
            if (e != Empty && e != Moved)
            {
                int slot = (int)(uint)e - 1;
                Insert(_entries, _mask, KeyHash.Mix(Unsafe.Add(ref keys, slot)), slot);
                e = Moved;
            }
            _migrated++;
        }
        if (_migrated >= end)
        {
            old.Dispose();
            _old = null;
        }
    }

    public void Dispose()
    {
        _entries.Dispose();
        _old?.Dispose();
        _keys.Dispose();
    }
}
