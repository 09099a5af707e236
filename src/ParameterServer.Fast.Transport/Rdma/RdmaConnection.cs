using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Core.Memory;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Rdma;

/// <summary>
/// Frames over one reliable-connected queue pair (see <see cref="RdmaTransport"/>):
/// <code>
///   frame ≤ slot − 16 bytes   one two-sided message of type FRAME, read in place in the
///                             receive buffer it landed in
///   larger frame              RDMA writes with immediate of ≤ ChunkBytes each into the peer's
///                             region: [u64 total | first bytes] [next bytes] … [last bytes]
///                             from staging chunks, except a segment inside a registered slab
///                             (a table's rows), written from the slab itself;
///                             a one-write frame is read in place in the region
/// </code>
/// A send that wrote from a slab returns only after those writes completed (see
/// <see cref="AwaitWritten"/>): the server changes its tables as soon as the send returns.
/// Flow control is the shim's credits: a send without one gets Again, which
/// <see cref="TrySend"/> reports as back-pressure and the waiting sends wait out while the I/O
/// thread polls completions (credits come back on the peer's messages). The I/O thread is the
/// only one that polls, delivers frames and releases buffers, except that a sender waiting on
/// the I/O thread itself (a handler replying) polls into a backlog the thread drains next.
/// Every native call is made under one lock (a shim connection is used by one thread at a time).
/// The TCP connection that carried the setup stays open beside the queue pair: an orderly close
/// sends one byte on it, and its end without that byte is the peer's death, noticed even when
/// no work request is outstanding.
/// </summary>
internal sealed class RdmaConnection : IConnection, IRegisteredMemorySender
{
    private const int FrameType = 1;
    private const int TotalPrefixBytes = RdmaWriteAssembly.TotalPrefixBytes;
    private const byte GoodbyeByte = (byte)'G';
    // The I/O thread's idle strategy: spin, then yield, then nap 1 ms. Completions are polled
    // (the shim exposes no completion channel), so an idle connection answers within ~1 ms.
    private const int SpinPolls = 2000;
    private const int YieldPolls = 200;
    // A slab segment shorter than this is staged: one more write and its completion cost more
    // than copying 4 KiB (~0.3 µs).
    private const int MinInPlaceBytes = 4096;
    // A queue pair reports a lost peer with a failed completion after its retries, 7 × 67 ms
    // (timeout 14, retry_cnt 7 in psf_rdma_verbs.c): 5 s without a completion is a broken device,
    // and the queue pair is destroyed rather than left reading a slab the caller will change.
    private static readonly long s_writeCompletionTimeoutMs = 5000;
    // Which of our writes read from a slab, by token modulo this (more than the 4096 writes a
    // peer's credits ever let be in flight): their completions free no staging chunk.
    private const int WriteKinds = 8192;

    private readonly RdmaChannel _channel;
    private readonly Socket _liveness;
    private readonly RdmaOptions _options;
    private readonly int _maxFrameBytes;
    private readonly object _verbsLock = new();
    private readonly object _sendLock = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Small frames are gathered here (the shim copies them on into a registered send slot).
    private readonly PinnedBuffer _small;
    // StagingChunks chunks of ChunkBytes: writes are read by the device after the call, so a
    // large frame is copied here first and SendAsync may return before the write completes.
    // Chunks are used round-robin and come back in order (one queue pair completes in order).
    private readonly PinnedBuffer _staging;
    private readonly RdmaEvent[] _backlog;
    private int _backlogHead, _backlogCount;
    private int _stagingNext;
    private int _writesInFlight;
    private readonly bool[] _inPlace = new bool[WriteKinds];
    // Writes completed, in order (one queue pair completes in order): token t is done once this exceeds t.
    private long _writtenUpTo;
    private readonly RdmaSlabRegistrations _slabs;
    private readonly IDisposable _slabSubscription;
    private bool _closeStarted;
    private IFrameHandler? _handler;
    private Thread? _ioThread;
    // _closingSends: DisposeAsync began, no new sends; _stopping: the I/O thread is to stop;
    // _closed: nothing more goes out or comes in.
    private volatile bool _closingSends;
    private volatile bool _stopping;
    private volatile bool _closed;
    private volatile bool _peerSaidGoodbye;
    private Exception? _failure;
    private bool _channelGone;
    private readonly RdmaWriteAssembly _writes;

    public RdmaConnection(RdmaChannel channel, Socket liveness, string remoteName, RdmaOptions options, int maxFrameBytes)
    {
        _channel = channel;
        _liveness = liveness;
        RemoteName = remoteName;
        _options = options;
        _maxFrameBytes = maxFrameBytes;
        _small = FrameBufferPool.Shared.Rent(options.MaxMessageBytes);
        _staging = FrameBufferPool.Shared.Rent((long)options.ChunkBytes * options.StagingChunks);
        // Every receive buffer and every write of ours can produce an event before it is handed out.
        _backlog = new RdmaEvent[options.RecvSlots + options.StagingChunks + 16];
        _writes = new RdmaWriteAssembly(maxFrameBytes, remoteName);
        // Registers every slab that exists now, then follows them: sends from slabs made before
        // this connection go in place too.
        _slabs = new RdmaSlabRegistrations(channel, _verbsLock);
        _slabSubscription = PinnedRegions.Subscribe(_slabs);
        _ = WatchLiveness();
    }

    public string RemoteName { get; }

    public bool IsConnected => !_closed;

    public Task Completion => _completion.Task;

    /// <summary>The tables' slabs registered with this connection's device (tests and diagnostics).</summary>
    internal RdmaSlabRegistrations Slabs => _slabs;

    /// <summary>Credits and registration-cache counters (tests and diagnostics).</summary>
    internal RdmaStats Stats()
    {
        lock (_verbsLock)
            return _channelGone ? default : _channel.Stats();
    }

    public void Start(IFrameHandler handler)
    {
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
            throw new InvalidOperationException($"connection to {RemoteName} already started");
        if (_completion.Task.IsCompleted)
        {
            // The peer went away between the setup and this call (the liveness watch runs from
            // the start): tell the handler now, as the I/O thread would have.
            handler.OnClosed(this, _completion.Task.Exception?.InnerException);
            return;
        }
        _ioThread = new Thread(IoLoop) { IsBackground = true, Name = $"psf-rdma-io {RemoteName}" };
        _ioThread.Start();
    }

    public ValueTask SendAsync(FrameSegments frame, CancellationToken cancellationToken = default) =>
        SendResults.ThrowIfNotSent(this, TrySendAsync(frame, cancellationToken));

    public SendStatus TrySend(FrameSegments frame)
    {
        CheckLength(frame.Length);
        if (_closed)
            return SendStatus.NotConnected;
        if (!Monitor.TryEnter(_sendLock))
            return SendStatus.BackPressured;
        try
        {
            return SendLocked(frame, wait: false);
        }
        finally
        {
            Monitor.Exit(_sendLock);
        }
    }

    public ValueTask<SendStatus> TrySendAsync(FrameSegments frame, CancellationToken cancellationToken = default)
    {
        CheckLength(frame.Length);
        if (_closed)
            return new ValueTask<SendStatus>(SendStatus.NotConnected);
        lock (_sendLock)
            return new ValueTask<SendStatus>(SendLocked(frame, wait: true));
    }

    public SendStatus SendInPlace(FrameSegments frame)
    {
        // SendLocked returns only once the writes from slabs have completed; staged bytes were
        // copied before it returns. So every byte of the frame has been read on return.
        CheckLength(frame.Length);
        if (_closed)
            return SendStatus.NotConnected;
        lock (_sendLock)
            return SendLocked(frame, wait: true);
    }

    private void CheckLength(long length)
    {
        if (length > _maxFrameBytes)
            ThrowTooLarge(length);
    }

    [DoesNotReturn]
    private void ThrowTooLarge(long length) =>
        throw new ArgumentException($"frame of {length} bytes exceeds the {_maxFrameBytes}-byte limit of {RemoteName}");

    // Under _sendLock. Without wait only the first message or write may meet back-pressure
    // (then nothing was sent); the rest of a large frame is finished by waiting.
    private SendStatus SendLocked(in FrameSegments frame, bool wait)
    {
        if (_closed || _closingSends)
            return SendStatus.NotConnected;
        long length = frame.Length;
        if (length <= _options.MaxMessageBytes)
        {
            frame.CopyTo(_small.Span);
            ReadOnlySpan<byte> message = _small.Span[..(int)length];
            while (true)
            {
                NativeStatus status = Verbs(static (c, m) => c.Send(FrameType, m), message);
                if (status == NativeStatus.Ok)
                    return SendStatus.Sent;
                if (status != NativeStatus.Again)
                    return SendStatus.NotConnected;
                if (!wait)
                    return SendStatus.BackPressured;
                if (!WaitForRoom())
                    return SendStatus.NotConnected;
            }
        }
        long offset = 0;
        long lastInPlace = -1;
        while (offset < length)
        {
            bool first = offset == 0;
            if (!first && TryFindInPlace(frame, offset, out long regionId, out nint address, out long run))
            {
                int bytes = (int)Math.Min(_options.ChunkBytes, run);
                if (!TryWriteInPlace(regionId, address, bytes, out ulong token))
                    return Abandon(lastInPlace);
                lastInPlace = (long)token;
                offset += bytes;
                continue;
            }
            int prefix = first ? TotalPrefixBytes : 0;
            int part = (int)Math.Min(_options.ChunkBytes - prefix, NextInPlaceStart(frame, offset) - offset);
            while (Volatile.Read(ref _writesInFlight) == _options.StagingChunks)
            {
                if (!wait && first)
                    return SendStatus.BackPressured;
                if (!WaitForRoom())
                    return Abandon(lastInPlace);
            }
            Span<byte> chunk = _staging.Span.Slice(_stagingNext * _options.ChunkBytes, prefix + part);
            if (first)
                BinaryPrimitives.WriteUInt64LittleEndian(chunk, (ulong)length);
            Gather(frame, offset, chunk[prefix..]);
            while (true)
            {
                NativeStatus status = Verbs(static (c, m) => c.Write(m, out _), (ReadOnlySpan<byte>)chunk);
                if (status == NativeStatus.Ok)
                    break;
                if (status != NativeStatus.Again)
                    return Abandon(lastInPlace);
                if (!wait && first)
                    return SendStatus.BackPressured;
                if (!WaitForRoom())
                    return Abandon(lastInPlace);
            }
            Interlocked.Increment(ref _writesInFlight);
            _stagingNext = (_stagingNext + 1) % _options.StagingChunks;
            offset += part;
        }
        if (lastInPlace >= 0 && !AwaitWritten((ulong)lastInPlace))
            return SendStatus.NotConnected;
        return SendStatus.Sent;
    }

    // A send given up after writing from a slab: the queue pair goes before the send returns.
    private SendStatus Abandon(long lastInPlace)
    {
        if (lastInPlace >= 0)
            DestroyQueuePair("a send from a table's slab was given up");
        return SendStatus.NotConnected;
    }

    // Under _sendLock: the segment holding byte `offset` of the frame, when it lies inside a
    // registered slab and is long enough to be worth a write of its own, from there on.
    private unsafe bool TryFindInPlace(in FrameSegments frame, long offset, out long regionId, out nint address, out long run)
    {
        regionId = 0;
        address = 0;
        run = 0;
        for (int i = 0; i < frame.Count; i++)
        {
            ReadOnlyMemory<byte> segment = frame[i];
            if (offset >= segment.Length)
            {
                offset -= segment.Length;
                continue;
            }
            if (!IsInPlace(segment, out regionId))
                return false;
            // Slab memory is native and never moves: its address outlives this span.
            address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(segment.Span)) + (nint)offset;
            run = segment.Length - offset;
            return true;
        }
        return false;
    }

    // Where the staged bytes from `offset` must stop: the start of the next segment sent in place.
    private long NextInPlaceStart(in FrameSegments frame, long offset)
    {
        long start = 0;
        for (int i = 0; i < frame.Count; i++)
        {
            ReadOnlyMemory<byte> segment = frame[i];
            if (start > offset && IsInPlace(segment, out _))
                return start;
            start += segment.Length;
        }
        return start;
    }

    // Whether the segment lies whole inside one registered slab. Only its address is compared:
    // memory of the GC heap (pooled frame buffers) never lies inside a slab, so it is never
    // written from in place, never goes through the registration cache, and is staged.
    private unsafe bool IsInPlace(ReadOnlyMemory<byte> segment, out long regionId)
    {
        regionId = 0;
        if (segment.Length < MinInPlaceBytes)
            return false;
        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(segment.Span));
        lock (_verbsLock)
            return !_channelGone && _slabs.TryFind(start, segment.Length, out regionId);
    }

    // Posts one write from a slab, waiting for credit or region space while the peer lives.
    private bool TryWriteInPlace(long regionId, nint address, int bytes, out ulong token)
    {
        while (true)
        {
            NativeStatus status;
            lock (_verbsLock)
            {
                token = 0;
                status = _channelGone ? NativeStatus.Closed : _channel.WriteRegion(regionId, address, bytes, out token);
                if (status == NativeStatus.Ok)
                    _inPlace[token % WriteKinds] = true;
                else if (status != NativeStatus.Again)
                    NoteFailure($"{status}: {PsfNative.LastError()}");
            }
            if (status == NativeStatus.Ok)
                return true;
            if (status != NativeStatus.Again || !WaitForRoom())
                return false;
        }
    }

    // Under _sendLock: waits until our write `token` (and every one before it) completed. This
    // is what makes sending from a table's slab safe: the device reads the slab after the post,
    // and the server's executor changes the table as soon as the send returns, so returning
    // earlier could send half old, half new rows. The wait polls completions itself (events
    // other than completions go to the backlog for the I/O thread), so it does not depend on
    // the I/O thread being free. A connection that fails or stays silent past the timeout has
    // its queue pair destroyed before this returns: then the device reads nothing more.
    private bool AwaitWritten(ulong token)
    {
        long deadline = Environment.TickCount64 + s_writeCompletionTimeoutMs;
        for (int polls = 0; Volatile.Read(ref _writtenUpTo) <= (long)token; polls++)
        {
            if (_closed || Environment.TickCount64 > deadline)
            {
                DestroyQueuePair(_closed ? "the connection failed during a send from a table's slab"
                    : $"a write from a table's slab did not complete within {s_writeCompletionTimeoutMs} ms");
                return false;
            }
            lock (_verbsLock)
                PollIntoBacklog();
            if (polls > SpinPolls)
                Thread.Yield();
        }
        return true;
    }

    // A completion of our write `token`: a staging chunk is free again, unless it came from a slab.
    private void OnWritten(ulong token)
    {
        ref bool inPlace = ref _inPlace[token % WriteKinds];
        if (inPlace)
            inPlace = false;
        else
            Interlocked.Decrement(ref _writesInFlight);
        Volatile.Write(ref _writtenUpTo, (long)token + 1);
    }

    // Destroys the queue pair now (the device stops reading our memory), marking the connection
    // failed; Close finishes the rest.
    private void DestroyQueuePair(string why)
    {
        NoteFailure(why);
        _closed = true;
        lock (_verbsLock)
            DisposeChannelLocked();
        if (_ioThread is null)
            Close(null); // not started: no I/O thread will notice and finish the close
    }

    private void DisposeChannelLocked()
    {
        if (_channelGone)
            return;
        _channelGone = true;
        _slabs.ChannelGone();
        _channel.Dispose();
    }

    private delegate NativeStatus VerbsCall(RdmaChannel channel, ReadOnlySpan<byte> data);

    // One native call under the lock, unless the channel is gone. Static lambdas: no allocation.
    private NativeStatus Verbs(VerbsCall call, ReadOnlySpan<byte> data)
    {
        lock (_verbsLock)
        {
            if (_channelGone)
                return NativeStatus.Closed;
            NativeStatus status = call(_channel, data);
            if (status is not (NativeStatus.Ok or NativeStatus.Again))
                NoteFailure($"{status}: {PsfNative.LastError()}");
            return status;
        }
    }

    // Lets credits, send slots or staging chunks come back: false once the connection is closing.
    private bool WaitForRoom()
    {
        if (_closed || _closingSends)
            return false;
        if (Thread.CurrentThread == _ioThread)
        {
            // A handler replying from the I/O thread: nobody else polls, so poll here; events go
            // to the backlog and are delivered when the handler returns.
            lock (_verbsLock)
                PollIntoBacklog();
        }
        else if (_ioThread is null)
        {
            // Not started: nobody polls at all; take the completions of our own writes.
            lock (_verbsLock)
                PollIntoBacklog();
        }
        else
        {
            Thread.Yield();
        }
        return !_closed;
    }

    // Under _verbsLock. Written events are counted at once (they only free staging chunks), so a
    // sender waiting for a chunk on the I/O thread makes progress.
    private void PollIntoBacklog()
    {
        if (_channelGone || _backlogCount == _backlog.Length)
            return;
        int status = _channel.Poll(out RdmaEvent next);
        if (status < 0)
        {
            NoteFailure($"{(NativeStatus)status}: {PsfNative.LastError()}");
            return;
        }
        if (status == 0)
            return;
        if (next.Kind == RdmaEventKind.Written)
            OnWritten(next.Token);
        else
            _backlog[(_backlogHead + _backlogCount++) % _backlog.Length] = next;
    }

    private void NoteFailure(string what) =>
        Interlocked.CompareExchange(ref _failure, new ConnectionClosedException($"connection to {RemoteName} failed: {what}"), null);

    private static void Gather(in FrameSegments frame, long offset, Span<byte> destination)
    {
        for (int i = 0; i < frame.Count && !destination.IsEmpty; i++)
        {
            ReadOnlySpan<byte> segment = frame[i].Span;
            if (offset >= segment.Length)
            {
                offset -= segment.Length;
                continue;
            }
            int n = (int)Math.Min(segment.Length - offset, destination.Length);
            segment.Slice((int)offset, n).CopyTo(destination);
            destination = destination[n..];
            offset = 0;
        }
    }

    private void IoLoop()
    {
        Exception? error = null;
        int idle = 0;
        try
        {
            while (!_stopping && !_closed)
            {
                int status = NextEvent(out RdmaEvent next);
                if (status < 0)
                    break;
                if (status == 1)
                {
                    idle = 0;
                    Handle(next);
                    continue;
                }
                // Nothing arrived. After the peer's goodbye, a while of that means everything it
                // sent is in.
                idle++;
                if (_peerSaidGoodbye && idle > SpinPolls)
                    break;
                Idle(idle);
            }
            error = Volatile.Read(ref _failure);
        }
        catch (Exception e)
        {
            // A handler that throws, or a peer breaking the framing: this connection ends.
            error = e;
        }
        Close(_stopping ? null : error);
    }

    private static void Idle(int idle)
    {
        if (idle < SpinPolls)
            Thread.SpinWait(20);
        else if (idle < SpinPolls + YieldPolls)
            Thread.Yield();
        else
            Thread.Sleep(1);
    }

    // 1 with an event (the backlog first), 0 with none, negative once the queue pair failed.
    private int NextEvent(out RdmaEvent next)
    {
        lock (_verbsLock)
        {
            while (_backlogCount > 0 || !_channelGone)
            {
                if (_backlogCount > 0)
                {
                    next = _backlog[_backlogHead];
                    _backlogHead = (_backlogHead + 1) % _backlog.Length;
                    _backlogCount--;
                    return 1;
                }
                int status = _channel.Poll(out next);
                if (status < 0)
                {
                    NoteFailure($"{(NativeStatus)status}: {PsfNative.LastError()}");
                    return status;
                }
                if (status == 0)
                    return 0;
                if (next.Kind != RdmaEventKind.Written)
                    return 1;
                OnWritten(next.Token);
            }
            next = default;
            return (int)NativeStatus.Closed;
        }
    }

    private unsafe void Handle(in RdmaEvent next)
    {
        if (next.Length > int.MaxValue)
            throw Broken($"an event of {next.Length} bytes");
        var data = new ReadOnlySpan<byte>(next.Data, (int)next.Length);
        try
        {
            if (next.Kind == RdmaEventKind.Message)
            {
                if (next.Type != FrameType)
                    throw Broken($"a message of type {next.Type}");
                if (_writes.InFrame)
                    throw Broken("a message in the middle of a written frame");
                _handler!.OnFrame(this, data);
            }
            else if (next.Kind == RdmaEventKind.Write)
            {
                OnWrite(data);
            }
            else
            {
                throw Broken($"an event of kind {next.Kind}");
            }
        }
        finally
        {
            lock (_verbsLock)
            {
                if (!_channelGone && _channel.Release(next.Token) != NativeStatus.Ok)
                    NoteFailure($"psf_rdma_release: {PsfNative.LastError()}");
            }
        }
    }

    private void OnWrite(ReadOnlySpan<byte> data)
    {
        if (_writes.TryTake(data, out ReadOnlySpan<byte> whole))
        {
            try
            {
                _handler!.OnFrame(this, whole);
            }
            finally
            {
                _writes.Delivered();
            }
        }
    }

    private InvalidDataException Broken(string what) => new($"{RemoteName} broke the RDMA framing: {what}");

    // The peer's liveness: one byte (goodbye) then end of stream is an orderly close; the end of
    // the stream without it, or an error, is the peer's death.
    private async Task WatchLiveness()
    {
        var one = new byte[1];
        try
        {
            int read = await _liveness.ReceiveAsync(one, SocketFlags.None).ConfigureAwait(false);
            if (read == 1 && one[0] == GoodbyeByte)
            {
                _peerSaidGoodbye = true;
                if (_ioThread is null)
                    Close(null);
                return;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            if (_stopping || _closed)
                return;
        }
        if (!_stopping && !_closed)
            Fail(new ConnectionClosedException($"connection to {RemoteName} lost: the peer's setup connection ended without a goodbye (the peer died)"));
    }

    private void Fail(Exception error)
    {
        Interlocked.CompareExchange(ref _failure, error, null);
        if (_ioThread is null)
            Close(error);
        else
            _closed = true; // the I/O thread sees it within a poll and closes with _failure
    }

    private void Close(Exception? error)
    {
        error ??= _stopping ? null : Volatile.Read(ref _failure);
        _closed = true;
        // Before any lock of ours: PinnedRegions calls us under its lock, then takes _verbsLock.
        _slabSubscription.Dispose();
        lock (_sendLock)
        {
            lock (_verbsLock)
            {
                if (_closeStarted)
                    return;
                _closeStarted = true;
                DisposeChannelLocked();
            }
        }
        _writes.Dispose();
        _small.Dispose();
        _staging.Dispose();
        try
        {
            _liveness.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
        _liveness.Dispose();
        if (error is null ? _completion.TrySetResult() : _completion.TrySetException(error))
            _handler?.OnClosed(this, error);
    }

    /// <summary>
    /// Tests: what SIGKILL does to this end (the fake verbs cannot span processes). The queue
    /// pair and the setup connection vanish without a goodbye, so the peer learns of it only
    /// from the setup connection's end (or a failed completion).
    /// </summary>
    internal void Crash()
    {
        _stopping = true;
        _liveness.LingerState = new LingerOption(true, 0); // reset, as a killed process's socket
        _liveness.Dispose();
        if (_ioThread is { } io && io != Thread.CurrentThread)
            io.Join(TimeSpan.FromSeconds(2));
        else
            Close(null);
    }

    public ValueTask DisposeAsync()
    {
        if (_closed)
            return ValueTask.CompletedTask;
        _closingSends = true;
        // No new sends; a send waiting for room sees _closingSends and gives up.
        lock (_sendLock)
        {
            // Let our writes finish (bounded), so the peer has every frame before the goodbye.
            for (int i = 0; i < 1000 && Volatile.Read(ref _writesInFlight) > 0 && _ioThread is not null && !_closed; i++)
                Thread.Sleep(1);
            try
            {
                _liveness.Send([GoodbyeByte]);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The peer is gone already: nothing to say goodbye to.
            }
        }
        _stopping = true;
        Thread? io = _ioThread;
        if (io is null)
            Close(null);
        else if (io != Thread.CurrentThread)
            io.Join(TimeSpan.FromSeconds(2)); // it closes the channel on its way out
        return ValueTask.CompletedTask;
    }
}
