using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Core.Memory;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Rdma;

namespace ParameterServer.Fast.Transport.Tests;

/// <summary>
/// The tables' slabs registered with every RDMA connection and written from in place, over the
/// shim's in-memory fake verbs (no RDMA device here): registration follows the slab's life, a
/// segment inside a registered slab goes by RDMA write from the slab under its key, anything else
/// is staged, and a send from a slab returns only once the write completed.
/// </summary>
public class RdmaSlabTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);
    private const int Rows = 100_000; // 400 KB of weights: two 256 KiB writes of the fake options

    private static long LiveRegistrations()
    {
        (ulong registered, ulong deregistered) = RdmaChannel.FakeCounts();
        return (long)(registered - deregistered);
    }

    private static RowStore Slab(int rows = Rows, long maxRows = Rows)
    {
        var store = new RowStore(1, 0, maxRows);
        store.EnsureRows(rows);
        Span<float> weights = store.WeightRows(0, rows);
        for (int i = 0; i < weights.Length; i++)
            weights[i] = i * 0.5f;
        return store;
    }

    private static (byte[] Header, byte[] Tail) Edges()
    {
        byte[] header = new byte[48], tail = new byte[8];
        Random.Shared.NextBytes(header);
        Random.Shared.NextBytes(tail);
        return (header, tail);
    }

    private static byte[] Concat(params ReadOnlyMemory<byte>[] parts) => parts.SelectMany(p => p.ToArray()).ToArray();

    [Test]
    public async Task ATableSlabIsRegisteredWhenAllocatedAndDeregisteredBeforeItIsFreed()
    {
        (IConnection client, IConnection server, IListener listener) = await RdmaTests.Pair(TransportFixture.FakeRdma);
        await using var _ = listener;
        long before = LiveRegistrations();
        int slabsBefore = ((RdmaConnection)client).Slabs.Count;
        var probe = new UnpinProbe();
        using (PinnedRegions.Subscribe(probe))
        {
            RowStore store = Slab();
            probe.Watched = store.WeightsAddress;
            store.WeightRows(0, 1)[0] = 42f;
            Assert.That(LiveRegistrations(), Is.EqualTo(before + 2), "one registration per connection (each has its own protection domain)");
            Assert.That(((RdmaConnection)client).Slabs.Count, Is.EqualTo(slabsBefore + 1));
            Assert.That(((RdmaConnection)server).Slabs.LocalKeyOf(store.WeightsAddress), Is.Not.Zero);
            store.Dispose();
        }
        Assert.That(probe.LiveWhenUnpinned, Is.EqualTo(before), "both connections had let go when the slab was about to be freed");
        Assert.That(probe.FirstWeightWhenUnpinned, Is.EqualTo(42f), "the memory was still the slab's then: deregistered before the free");
        Assert.That(LiveRegistrations(), Is.EqualTo(before), "no registration left after the table is disposed");
        Assert.That(((RdmaConnection)client).Slabs.Count, Is.EqualTo(slabsBefore));
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Test]
    public async Task SlabsAllocatedBeforeTheConnectionAreRegisteredWhenItStarts()
    {
        using RowStore early = Slab();
        long before = LiveRegistrations();
        (IConnection client, IConnection server, IListener listener) = await RdmaTests.Pair(TransportFixture.FakeRdma);
        await using var _ = listener;
        Assert.That(((RdmaConnection)client).Slabs.LocalKeyOf(early.WeightsAddress), Is.Not.Zero);
        Assert.That(((RdmaConnection)server).Slabs.LocalKeyOf(early.WeightsAddress), Is.Not.Zero);
        Assert.That(LiveRegistrations(), Is.GreaterThanOrEqualTo(before + 2));
        await client.DisposeAsync();
        await server.DisposeAsync();
        Assert.That(LiveRegistrations(), Is.EqualTo(before), "closing the connections dropped their registrations, the slab's too");
    }

    [Test]
    public async Task ASegmentInsideARegisteredSlabIsWrittenFromTheSlabUnderItsKey()
    {
        using RowStore store = Slab();
        await using StartedPair pair = await StartedPair.Connect();
        Assert.That(store.TryGetWeightBytes(0, Rows, out ReadOnlyMemory<byte> rows), Is.True);

        await pair.SendAroundAndReceive(rows);

        // Writes: [total | header] staged, the rows in two writes from the slab, the tail staged.
        uint slabKey = pair.Client.Slabs.LocalKeyOf(store.WeightsAddress);
        var fromSlab = Enumerable.Range(1, 2).Select(back => RdmaChannel.FakePostedWrite(back)).ToList();
        long slabBytes = (long)Rows * sizeof(float);
        Assert.That(fromSlab.Select(w => w.LocalKey), Is.All.EqualTo(slabKey));
        Assert.That(fromSlab.All(w => w.Address >= store.WeightsAddress && w.Address + w.Length <= store.WeightsAddress + slabBytes), Is.True,
            "the device read the rows in the slab itself: no staging copy");
        Assert.That(fromSlab.Sum(w => w.Length), Is.EqualTo(slabBytes));
        Assert.That(RdmaChannel.FakePostedWrite(0).LocalKey, Is.Not.EqualTo(slabKey), "the tail came from staging");
    }

    [Test]
    public async Task PooledMemoryOfTheGcHeapIsStagedAndArrivesWhole()
    {
        using RowStore store = Slab();
        await using StartedPair pair = await StartedPair.Connect();
        byte[] pooled = GC.AllocateArray<byte>(300_000, pinned: true); // as frame buffers are
        Random.Shared.NextBytes(pooled);

        await pair.SendAroundAndReceive(pooled);

        nint first = Marshal.UnsafeAddrOfPinnedArrayElement(pooled, 0), last = Marshal.UnsafeAddrOfPinnedArrayElement(pooled, pooled.Length - 1);
        for (int back = 0; back < 3; back++)
        {
            (nint address, long length, _) = RdmaChannel.FakePostedWrite(back);
            Assert.That(address + length <= first || address > last, Is.True,
                "no write read the GC array itself (nor registered it): it was copied into staging");
        }
    }

    [Test]
    public async Task ASegmentRunningPastTheSlabsRegisteredExtentIsStagedUntilTheSlabGrows()
    {
        // 1 M rows reserved (4 MiB), 100 000 used: the first 2 MiB are committed and registered;
        // the reservation beyond is mapped (zero pages) but not registered.
        using RowStore store = Slab(Rows, maxRows: 1 << 20);
        await using StartedPair pair = await StartedPair.Connect();
        const int registeredBytes = 2 << 20;
        using var across = new SlabWindow(store, registeredBytes - 200_000, 300_000);

        await pair.SendAroundAndReceive(across.Memory);

        uint slabKey = pair.Client.Slabs.LocalKeyOf(store.WeightsAddress);
        for (int back = 0; back < 3; back++)
            Assert.That(RdmaChannel.FakePostedWrite(back).LocalKey, Is.Not.EqualTo(slabKey), "staged: the segment is not inside one registration");
        store.EnsureRows(600_000); // commits the other 2 MiB: the slab is registered anew, whole
        uint grownKey = pair.Client.Slabs.LocalKeyOf(store.WeightsAddress);
        Assert.That(grownKey, Is.Not.Zero.And.Not.EqualTo(slabKey));
        await pair.SendAroundAndReceive(across.Memory);
        Assert.That(RdmaChannel.FakePostedWrite(1).LocalKey, Is.EqualTo(grownKey), "inside the grown registration: written in place");
    }

    [Test]
    public async Task ChangingTheSlabRightAfterTheSendReturnsDoesNotChangeTheAnswer()
    {
        using RowStore store = Slab();
        (IConnection client, IConnection server, IListener listener) = await RdmaTests.Pair(TransportFixture.FakeRdma);
        await using var _ = listener;
        var received = new CollectingHandler();
        server.Start(received);
        Assert.That(store.TryGetWeightBytes(0, Rows, out ReadOnlyMemory<byte> rows), Is.True);
        (byte[] header, byte[] tail) = Edges();
        byte[] expected = Concat(header, rows, tail);
        // The fake reads the source only when the sender polls its completions (a device reads it
        // some time after the post), and the client is not started: nothing but the send itself
        // polls, so a send that returned before its completion would leave the read for later.
        RdmaChannel.FakeDeferred(true);
        try
        {
            Assert.That(((IRegisteredMemorySender)client).SendInPlace(new FrameSegments(header, rows, tail)), Is.EqualTo(SendStatus.Sent));
            store.WeightRows(0, Rows).Fill(-1f); // what the next push does on the server's executor
            client.Start(new CollectingHandler());
            await received.WaitForFrames(1, s_wait);
        }
        finally
        {
            RdmaChannel.FakeDeferred(false);
        }
        Assert.That(received.Frames.Single(), Is.EqualTo(expected), "the answer holds the rows as they were when it was sent");
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    /// <summary>Two started fake connections; sends from the client frame a segment between a random header and tail.</summary>
    private sealed class StartedPair : IAsyncDisposable
    {
        private readonly IConnection _server;
        private readonly IListener _listener;

        private StartedPair(RdmaConnection client, IConnection server, IListener listener)
        {
            Client = client;
            _server = server;
            _listener = listener;
        }

        public RdmaConnection Client { get; }

        public CollectingHandler Received { get; } = new();

        public static async Task<StartedPair> Connect()
        {
            (IConnection client, IConnection server, IListener listener) = await RdmaTests.Pair(TransportFixture.FakeRdma);
            var pair = new StartedPair((RdmaConnection)client, server, listener);
            client.Start(new CollectingHandler());
            server.Start(pair.Received);
            return pair;
        }

        /// <summary>Sends header + <paramref name="middle"/> + tail in place and checks that exactly that arrives.</summary>
        public async Task SendAroundAndReceive(ReadOnlyMemory<byte> middle)
        {
            (byte[] header, byte[] tail) = Edges();
            int before = Received.Frames.Count;
            Assert.That(((IRegisteredMemorySender)Client).SendInPlace(new FrameSegments(header, middle, tail)), Is.EqualTo(SendStatus.Sent));
            await Received.WaitForFrames(1, s_wait);
            Assert.That(Received.Frames.Count, Is.EqualTo(before + 1));
            Assert.That(Received.Frames.Last(), Is.EqualTo(Concat(header, middle, tail)));
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await _server.DisposeAsync();
            await _listener.DisposeAsync();
        }
    }

    /// <summary>
    /// Bytes of a slab's reservation by offset, whether committed or not (a test needs a segment
    /// that runs past the registered extent; <see cref="RowStore.TryGetWeightBytes"/> stops at it).
    /// Only read through spans, never pinned.
    /// </summary>
    private sealed class SlabWindow(RowStore store, long offset, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan()
        {
            ref byte first = ref MemoryMarshal.GetReference(MemoryMarshal.AsBytes(store.WeightRows(0, 1)));
            return MemoryMarshal.CreateSpan(ref Unsafe.AddByteOffset(ref first, (nint)offset), length);
        }

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException("read through spans only");

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    private sealed class UnpinProbe : IPinnedRegionObserver
    {
        public nint Watched { get; set; }

        public long LiveWhenUnpinned { get; private set; } = -1;

        public float FirstWeightWhenUnpinned { get; private set; } = float.NaN;

        public void OnPinned(PinnedRegion region)
        {
        }

        public void OnUnpinning(PinnedRegion region)
        {
            if (region.Address != Watched)
                return; // another test's slab, finalized now
            LiveWhenUnpinned = LiveRegistrations();
            FirstWeightWhenUnpinned = Marshal.PtrToStructure<float>(region.Address);
        }
    }
}
