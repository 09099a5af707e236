using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Memory;

namespace ParameterServer.Fast.Core.Tables;

/// <summary>
/// The key → slot map of a sparse table: cache-line buckets of five keys with their slots, so a
/// lookup costs one cache miss. Buckets are found by the high bits of the key's hash scaled to
/// the bucket count (any count, not only powers of two); a full bucket overflows into the next.
/// <code>
///   bucket (64 bytes, one cache line)
///   offset  0: ulong key[5]          40 bytes
///   offset 40: uint  slot[5]         20 bytes
///   offset 60: uint  meta            bits 0..2 = entries used (filled in order), bit 31 = moved
/// </code>
/// At most 0.9 full; growing by 11/8 leaves it at least 0.65 full, so the index costs
/// 64 / 5 / 0.65 ≤ 19.7 bytes per key, and a one-float table at most 23.7 bytes per key all-in.
/// <para>
/// Growth never stops the world: a full index allocates a larger one and moves 16 old buckets
/// per insert; until the old index is drained lookups try the new one, then the old. A moved
/// bucket keeps its entry count, so probe chains through it stay intact.
/// </para>
/// </summary>
internal sealed class SlotIndex : IDisposable
{
    public const int BucketBytes = 64;
    private const int EntriesPerBucket = 5;
    private const uint MovedFlag = 1u << 31;
    private const uint CountMask = 7;
    private const int MigrationStep = 16;
    private const long InitialBuckets = 64;

    [StructLayout(LayoutKind.Sequential, Size = BucketBytes)]
    private struct Bucket
    {
        public KeyArray Keys;
        public SlotArray Slots;
        public uint Meta;
    }

    [InlineArray(EntriesPerBucket)]
    private struct KeyArray
    {
        private ulong _first;
    }

    [InlineArray(EntriesPerBucket)]
    private struct SlotArray
    {
        private uint _first;
    }

    private NativeSlab _buckets;
    private long _bucketCount;
    private NativeSlab? _old;
    private long _oldBucketCount;
    private long _migrated;
    private readonly SlabOptions _options;

    public SlotIndex(long maxKeys, SlabOptions options)
    {
        _options = options;
        MaxKeys = maxKeys;
        _bucketCount = InitialBuckets;
        _buckets = NativeSlab.Allocate(InitialBuckets * BucketBytes, options);
    }

    public long Count { get; private set; }

    public long MaxKeys { get; }

    /// <summary>Entries the current index holds before it must grow.</summary>
    public long Capacity => _bucketCount * EntriesPerBucket;

    public bool IsMigrating => _old is not null;

    public long BytesHeld => _buckets.CommittedBytes + (_old?.CommittedBytes ?? 0);

    /// <summary>Stage 1 of a pipelined lookup: bring the key's home bucket into the cache.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchBucket(ulong hash) => Prefetch.Read(ref BucketAt(_buckets, Home(hash, _bucketCount)));

    /// <summary>The slot of <paramref name="key"/>, or −1.</summary>
    public int Find(ulong key) => Find(key, KeyHash.IndexHash(key));

    /// <summary>The slot of <paramref name="key"/> whose hash is already known, or −1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ulong key, ulong hash)
    {
        int slot = Probe(_buckets, _bucketCount, hash, key);
        if (slot < 0 && _old is not null)
            slot = Probe(_old, _oldBucketCount, hash, key);
        return slot;
    }

    /// <summary>The slot of <paramref name="key"/>, adding it as slot <see cref="Count"/> when absent.</summary>
    public int GetOrAdd(ulong key, out bool added) => GetOrAdd(key, KeyHash.IndexHash(key), out added);

    /// <summary>As <see cref="GetOrAdd(ulong, out bool)"/> with the key's hash already known.</summary>
    public int GetOrAdd(ulong key, ulong hash, out bool added)
    {
        int slot = Find(key, hash);
        if (slot >= 0)
        {
            added = false;
            return slot;
        }
        if (Count >= MaxKeys)
            throw new InvalidOperationException($"sparse table is full: {MaxKeys} keys");
        if (_old is not null)
            Migrate(MigrationStep);
        // Grow at 0.9 full: with five entries a bucket, probe chains stay about one bucket long.
        if ((Count + 1) * 10 > Capacity * 9)
            StartGrowth();
        slot = (int)Count;
        Insert(_buckets, _bucketCount, hash, key, (uint)slot);
        Count++;
        added = true;
        return slot;
    }

    /// <summary>
    /// Grows the index now, at once, so that <paramref name="keys"/> keys in all fit at 3/4 load
    /// without growing again. For bulk inserts in hash order (a restored snapshot comes out of an
    /// index bucket by bucket): growing step by step under such an order piles every key into the
    /// front of each new, larger index, and probe chains grow with the table.
    /// </summary>
    public void Reserve(long keys)
    {
        keys = Math.Min(keys, MaxKeys);
        if (keys * 10 <= Capacity * 9)
            return;
        if (_old is not null)
            Migrate(long.MaxValue);
        long buckets = Math.Max(_bucketCount + 1, (keys * 4 / 3 / EntriesPerBucket) + 1);
        _old = _buckets;
        _oldBucketCount = _bucketCount;
        _migrated = 0;
        _buckets = NativeSlab.Allocate(buckets * BucketBytes, _options);
        _bucketCount = buckets;
        Migrate(long.MaxValue);
    }

    /// <summary>Calls <paramref name="visit"/> with every (key, slot) pair, in no particular order.</summary>
    public void ForEach(Action<ulong, int> visit)
    {
        Visit(_buckets, _bucketCount, visit);
        if (_old is not null)
            Visit(_old, _oldBucketCount, visit);
    }

    /// <summary>
    /// Copies (key, slot) pairs from position <paramref name="cursor"/> (0 to start) and advances
    /// it; returns how many were copied, 0 at the end. The cursor walks the current buckets, then
    /// the old ones while migrating, with the entry within a bucket in its low 3 bits, so any span
    /// length resumes where the last call stopped. Valid only while no key is added: an insert may
    /// migrate buckets under the cursor.
    /// </summary>
    public int CopyEntries(ref long cursor, Span<ulong> keys, Span<int> slots)
    {
        int n = 0, room = Math.Min(keys.Length, slots.Length);
        long total = _bucketCount + (_old is null ? 0 : _oldBucketCount);
        long position = cursor >> 3;
        int entry = (int)(cursor & 7);
        while (position < total && n < room)
        {
            ref Bucket bucket = ref position < _bucketCount ? ref BucketAt(_buckets, position) : ref BucketAt(_old!, position - _bucketCount);
            int used = (bucket.Meta & MovedFlag) != 0 ? 0 : (int)(bucket.Meta & CountMask);
            for (; entry < used && n < room; entry++, n++)
            {
                keys[n] = bucket.Keys[entry];
                slots[n] = (int)bucket.Slots[entry];
            }
            if (entry >= used)
            {
                position++;
                entry = 0;
            }
        }
        cursor = (position << 3) | (long)entry;
        return n;
    }

    private static void Visit(NativeSlab table, long bucketCount, Action<ulong, int> visit)
    {
        for (long b = 0; b < bucketCount; b++)
        {
            ref Bucket bucket = ref BucketAt(table, b);
            if ((bucket.Meta & MovedFlag) != 0)
                continue;
            int used = (int)(bucket.Meta & CountMask);
            for (int j = 0; j < used; j++)
                visit(bucket.Keys[j], (int)bucket.Slots[j]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Home(ulong hash, long bucketCount) => (long)(((hash >> 32) * (ulong)bucketCount) >> 32);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref Bucket BucketAt(NativeSlab table, long index) => ref Unsafe.Add(ref table.GetReference<Bucket>(), (nint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Probe(NativeSlab table, long bucketCount, ulong hash, ulong key)
    {
        long b = Home(hash, bucketCount);
        while (true)
        {
            ref Bucket bucket = ref BucketAt(table, b);
            uint meta = bucket.Meta;
            int used = (int)(meta & CountMask);
            if ((meta & MovedFlag) == 0)
            {
                int j = MatchIndex(ref bucket, key, used);
                if (j >= 0)
                    return (int)bucket.Slots[j];
            }
            if (used < EntriesPerBucket)
                return -1;
            if (++b == bucketCount)
                b = 0;
        }
    }

    // The position of key among the first `used` keys of the bucket, or −1. Compared all at once:
    // a loop that exits at a data-dependent position mispredicts on almost every lookup.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MatchIndex(ref Bucket bucket, ulong key, int used)
    {
        ulong valid = (1UL << used) - 1;
        ulong mask;
        if (Vector512.IsHardwareAccelerated)
        {
            // The whole line: lanes 0..4 are keys, lanes 5..7 slots and meta, masked off by `valid`.
            mask = Vector512.Equals(Vector512.LoadUnsafe(ref bucket.Keys[0]), Vector512.Create(key)).ExtractMostSignificantBits();
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            mask = Vector256.Equals(Vector256.LoadUnsafe(ref bucket.Keys[0]), Vector256.Create(key)).ExtractMostSignificantBits();
            mask |= bucket.Keys[4] == key ? 1UL << 4 : 0;
        }
        else
        {
            mask = 0;
            for (int j = 0; j < EntriesPerBucket; j++)
                mask |= bucket.Keys[j] == key ? 1UL << j : 0;
        }
        mask &= valid;
        return mask == 0 ? -1 : BitOperations.TrailingZeroCount(mask);
    }

    private static void Insert(NativeSlab table, long bucketCount, ulong hash, ulong key, uint slot)
    {
        long b = Home(hash, bucketCount);
        while (true)
        {
            ref Bucket bucket = ref BucketAt(table, b);
            int used = (int)(bucket.Meta & CountMask);
            if (used < EntriesPerBucket)
            {
                bucket.Keys[used] = key;
                bucket.Slots[used] = slot;
                bucket.Meta = (bucket.Meta & ~CountMask) | (uint)(used + 1);
                return;
            }
            if (++b == bucketCount)
                b = 0;
        }
    }

    private void StartGrowth()
    {
        // A second growth before the first drained: finish the first, so at most one old index exists.
        if (_old is not null)
            Migrate(long.MaxValue);
        long buckets = Math.Max(_bucketCount + 1, _bucketCount * 11 / 8);
        _old = _buckets;
        _oldBucketCount = _bucketCount;
        _migrated = 0;
        _buckets = NativeSlab.Allocate(buckets * BucketBytes, _options);
        _bucketCount = buckets;
    }

    private void Migrate(long steps)
    {
        NativeSlab old = _old!;
        while (steps-- > 0 && _migrated < _oldBucketCount)
        {
            ref Bucket bucket = ref BucketAt(old, _migrated);
            int used = (int)(bucket.Meta & CountMask);
            for (int j = 0; j < used; j++)
                Insert(_buckets, _bucketCount, KeyHash.IndexHash(bucket.Keys[j]), bucket.Keys[j], bucket.Slots[j]);
            bucket.Meta |= MovedFlag;
            _migrated++;
        }
        if (_migrated >= _oldBucketCount)
        {
            old.Dispose();
            _old = null;
        }
    }

    public void Dispose()
    {
        _buckets.Dispose();
        _old?.Dispose();
    }
}
