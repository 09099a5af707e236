using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace ParameterServer.Fast.Core.Memory;

/// <summary>
/// A block of parameter memory the GC never sees or moves: 64-byte aligned (a cache line, and an
/// AVX-512 vector), zero-filled, owned by this object and freed by Dispose or the finalizer.
/// <para>
/// A slab reserves address space for its largest size up front and commits it as it grows, so
/// growing never moves what is already there: pointers into it stay valid and a sparse table can
/// grow without stopping the world. Small slabs (under 64 KiB) come from the native heap.
/// </para>
/// </summary>
public sealed unsafe class NativeSlab : IDisposable
{
    public const int Alignment = 64;

    // 64 KiB: below this a reservation wastes more than it saves; the heap is exact.
    private const long HeapThreshold = 64 * 1024;
    // Commit in 2 MiB steps (a huge page) so growth is rare and huge pages stay whole.
    private const long CommitGranularity = 2 * 1024 * 1024;

    private byte* _pointer;
    private readonly bool _fromHeap;
    private readonly SlabOptions _options;
    private long _committed;
    // Non-zero once announced to PinnedRegions (see AnnounceAsPinned).
    private long _regionId;
    private bool _announced;
    private SlabMemory? _memory;

    private NativeSlab(byte* pointer, long reserved, bool fromHeap, SlabOptions options)
    {
        _pointer = pointer;
        ReservedBytes = reserved;
        _fromHeap = fromHeap;
        _options = options;
        MemoryAccounting.SlabCreated();
    }

    /// <summary>The largest size this slab can grow to without moving.</summary>
    public long ReservedBytes { get; }

    /// <summary>Bytes usable now (and counted in <see cref="MemoryAccounting.BytesHeld"/>).</summary>
    public long CommittedBytes => _committed;

    public bool IsDisposed => _pointer is null;

    /// <summary>The first byte; 64-byte aligned.</summary>
    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer is null, this);
            return _pointer;
        }
    }

    /// <summary>The address of the first byte, for alignment checks and registration with a NIC.</summary>
    public nint Address => (nint)Pointer;

    /// <summary>A slab of exactly <paramref name="bytes"/>, all committed.</summary>
    public static NativeSlab Allocate(long bytes, SlabOptions options = default)
    {
        NativeSlab slab = Reserve(bytes, options);
        slab.EnsureCommitted(bytes);
        return slab;
    }

    /// <summary>A slab that may grow to <paramref name="maxBytes"/>; nothing is committed yet.</summary>
    public static NativeSlab Reserve(long maxBytes, SlabOptions options = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        long reserved = Math.Max(maxBytes, Alignment);
        if (reserved < HeapThreshold || !OsMemory.UsesVirtualReservation)
        {
            var heap = (byte*)NativeMemory.AlignedAlloc((nuint)reserved, Alignment);
            if (heap is null)
                ThrowOutOfMemory(reserved);
            NativeMemory.Clear(heap, (nuint)reserved);
            return new NativeSlab(heap, reserved, fromHeap: true, options);
        }
        reserved = RoundUp(reserved, CommitGranularity);
        byte* p = OsMemory.Reserve((nuint)reserved, options.HugePages && OperatingSystem.IsWindows());
        if (p is null)
            ThrowOutOfMemory(reserved);
        if (options.HugePages)
            OsMemory.AdviseHugePages(p, (nuint)reserved);
        return new NativeSlab(p, reserved, fromHeap: false, options);
    }

    /// <summary>Commits at least the first <paramref name="bytes"/>; never moves memory.</summary>
    public void EnsureCommitted(long bytes)
    {
        ObjectDisposedException.ThrowIf(_pointer is null, this);
        if (bytes <= _committed)
            return;
        if (bytes > ReservedBytes)
            throw new InvalidOperationException($"slab of {ReservedBytes} reserved bytes cannot grow to {bytes}");
        // Exactly what is asked, rounded to 2 MiB: accounting stays exact and memory per key honest.
        long target = _fromHeap ? ReservedBytes : Math.Min(ReservedBytes, RoundUp(bytes, CommitGranularity));
        long added = target - _committed;
        if (!_fromHeap && !OsMemory.Commit(_pointer + _committed, (nuint)added))
            ThrowOutOfMemory(target);
        if (_options.LockInMemory && !OsMemory.Lock(_pointer + _committed, (nuint)added))
            throw new InvalidOperationException(
                $"could not lock {added} bytes in memory (errno {OsMemory.LastErrno()}): raise the memlock limit (ulimit -l) or turn locking off");
        _committed = target;
        MemoryAccounting.Add(added);
        if (_announced)
            Publish();
    }

    /// <summary>
    /// Makes this slab one that transports may send from in place: its committed bytes are
    /// announced to <see cref="PinnedRegions"/> now and whenever they grow, and withdrawn before
    /// the memory is freed (an RDMA device must deregister memory before it goes back to the OS).
    /// </summary>
    internal void AnnounceAsPinned()
    {
        ObjectDisposedException.ThrowIf(_pointer is null, this);
        _announced = true;
        if (_committed > 0)
            Publish();
    }

    private void Publish()
    {
        if (_regionId == 0)
            _regionId = PinnedRegions.Add((nint)_pointer, _committed);
        else
            PinnedRegions.Grow(_regionId, _committed);
    }

    /// <summary>
    /// Bytes [<paramref name="start"/>, + <paramref name="length"/>) of the committed memory as
    /// <see cref="ReadOnlyMemory{T}"/>, for a synchronous send from the slab; false when they lie
    /// beyond 2 GiB (a <see cref="Memory{T}"/> cannot reach them) or outside the committed bytes.
    /// </summary>
    internal bool TryGetMemory(long start, int length, out ReadOnlyMemory<byte> memory)
    {
        memory = default;
        long reach = Math.Min(_committed, int.MaxValue);
        if (start < 0 || length < 0 || start > reach - length)
            return false;
        if (_memory is null || _memory.Length != (int)reach)
            _memory = new SlabMemory(Pointer, (int)reach); // once per growth: no allocation per send
        memory = _memory.Memory.Slice((int)start, length);
        return true;
    }

    /// <summary>The committed bytes viewed as <typeparamref name="T"/>, from element <paramref name="start"/>.</summary>
    public Span<T> AsSpan<T>(long start, int length) where T : unmanaged
    {
        if ((ulong)start > (ulong)(_committed / sizeof(T)) || (ulong)length > (ulong)(_committed / sizeof(T) - start))
            ThrowOutOfCommitted(start, length, sizeof(T));
        return new Span<T>((T*)Pointer + start, length);
    }

    /// <summary>A reference to element 0 as <typeparamref name="T"/>; callers index within the committed bytes.</summary>
    public ref T GetReference<T>() where T : unmanaged => ref System.Runtime.CompilerServices.Unsafe.AsRef<T>(Pointer);

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~NativeSlab() => Free();

    private void Free()
    {
        byte* p = _pointer;
        if (p is null)
            return;
        // Withdrawn while still mapped: a device that registered it lets go before the pages do.
        if (_regionId != 0)
            PinnedRegions.Remove(_regionId);
        _regionId = 0;
        _memory = null;
        _pointer = null;
        if (_fromHeap)
            NativeMemory.AlignedFree(p);
        else
            OsMemory.Release(p, (nuint)ReservedBytes);
        MemoryAccounting.Add(-_committed);
        MemoryAccounting.SlabFreed();
        _committed = 0;
    }

    private static long RoundUp(long value, long multiple) => (value + multiple - 1) / multiple * multiple;

    [DoesNotReturn]
    private static void ThrowOutOfMemory(long bytes) =>
        throw new OutOfMemoryException($"the OS refused {bytes} bytes of parameter memory");

    [DoesNotReturn]
    private void ThrowOutOfCommitted(long start, int length, int size) =>
        throw new ArgumentOutOfRangeException(nameof(start),
            $"elements [{start}, {start + length}) of {size} bytes lie outside the {_committed} committed bytes");
}
