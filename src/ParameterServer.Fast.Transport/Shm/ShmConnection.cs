using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Transport.Shm;

/// <summary>
/// Frames over one shared-memory segment (see <see cref="ShmTransport"/>). Sends from many
/// threads take turns under a lock, since a ring has exactly one writer; a frame up to half a ring
/// is gathered straight into a claimed record, a larger one goes in 256 KiB chunks. The receive
/// thread hands a one-record frame to the handler as a span IN the ring and releases the record
/// when the handler returns (or lends the thread to user code, see ReceiveThread), so a server
/// aggregates straight out of shared memory; chunked frames are reassembled into a pooled pinned
/// buffer first.
/// </summary>
internal sealed class ShmConnection : IConnection
{
    private readonly ShmChannel _channel;
    private readonly int _maxFrameBytes;
    private readonly object _sendLock = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IFrameHandler? _handler;
    // The thread receiving now: the first one, or one the watchdog started when a handler lent
    // the receiving thread to user code for too long (see ReceiveThread).
    private volatile Thread? _receiveThread;
    private ReceiverBaton? _baton;
    // Receiver state, touched only by the thread that holds the baton: the chunk reassembly, and
    // whether the handler already released the record it is being called with (on a lend).
    private Reassembly? _assembly;
    private bool _recordReleased;
    private bool _recordReassembled;
    // _stopping: asked to stop (read without the lock by blocked senders and the receive loop);
    // _closed: no more sends (set under _sendLock, so no sender is inside the ring when it is).
    private volatile bool _stopping;
    private volatile bool _closed;
    private int _channelClosed;

    public ShmConnection(ShmChannel channel, string remoteName, int maxFrameBytes)
    {
        _channel = channel;
        RemoteName = remoteName;
        _maxFrameBytes = maxFrameBytes;
    }

    public string RemoteName { get; }

    public bool IsConnected => !_closed;

    public Task Completion => _completion.Task;

    public void Start(IFrameHandler handler)
    {
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
            throw new InvalidOperationException($"connection to {RemoteName} already started");
        _assembly = new Reassembly(_maxFrameBytes, RemoteName);
        _baton = new ReceiverBaton(ReleaseRecord, StartReceiver);
        StartReceiver();
    }

    // The first receive thread, or one taking over from a thread lent too long.
    private void StartReceiver()
    {
        var thread = new Thread(ReceiveLoop) { IsBackground = true, Name = $"psf-shm-recv {RemoteName}" };
        _receiveThread = thread;
        try
        {
            thread.UnsafeStart(); // no caller's execution context to carry
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            _baton!.Retire();
            Close(Closed($"has no receive thread: {e.Message}"));
        }
    }

    public ValueTask SendAsync(FrameSegments frame, CancellationToken cancellationToken = default) =>
        SendResults.ThrowIfNotSent(this, TrySendAsync(frame, cancellationToken));

    public SendStatus TrySend(FrameSegments frame)
    {
        CheckLength(frame.Length);
        if (_closed)
            return SendStatus.NotConnected;
        // Another sender holds the ring's single writer slot: that is back-pressure too.
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

    private void CheckLength(long length)
    {
        if (length > _maxFrameBytes)
            ThrowTooLarge(length);
    }

    [DoesNotReturn]
    private void ThrowTooLarge(long length) =>
        throw new ArgumentException($"frame of {length} bytes exceeds the {_maxFrameBytes}-byte limit of {RemoteName}");

    // Under _sendLock. Without wait, only the first record may find no room (then nothing was
    // written); a chunked frame, once started, is finished by waiting.
    private SendStatus SendLocked(in FrameSegments frame, bool wait)
    {
        if (_closed)
            return SendStatus.NotConnected;
        long length = frame.Length;
        if (length <= _channel.MaxClaim)
            return WriteRecord(frame, 0, (int)length, ShmRecords.Frame, total: -1, wait);
        int chunk = Math.Min(ShmRecords.ChunkBytes, _channel.MaxClaim);
        int first = chunk - ShmRecords.TotalPrefixBytes;
        SendStatus status = WriteRecord(frame, 0, first, ShmRecords.FrameFirst, total: length, wait);
        for (long offset = first; offset < length && status == SendStatus.Sent; offset += chunk)
        {
            int part = (int)Math.Min(chunk, length - offset);
            status = WriteRecord(frame, offset, part, offset + part == length ? ShmRecords.FrameLast : ShmRecords.FrameNext, total: -1, wait: true);
        }
        return status;
    }

    // Claims a record (waiting for room while the peer lives, when asked to), gathers the
    // frame's bytes [offset, offset + length) into it, with the total length in front when
    // total >= 0, and commits it.
    private SendStatus WriteRecord(in FrameSegments frame, long offset, int length, int type, long total, bool wait)
    {
        int recordBytes = length + (total >= 0 ? ShmRecords.TotalPrefixBytes : 0);
        NativeStatus status;
        Span<byte> record;
        while ((status = _channel.TryClaim(recordBytes, out record)) == NativeStatus.Again)
        {
            if (!wait)
                return SendStatus.BackPressured;
            if (_stopping)
                return SendStatus.NotConnected;
            status = _channel.WaitClaim(recordBytes, ShmRecords.PollNs);
            if (status is not (NativeStatus.Ok or NativeStatus.Timeout))
                break;
        }
        if (status != NativeStatus.Ok)
            return SendStatus.NotConnected; // the peer closed or died; the receive loop reports why
        if (total >= 0)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)total);
            record = record[ShmRecords.TotalPrefixBytes..];
        }
        Gather(frame, offset, record);
        if (_channel.Commit(type) != NativeStatus.Ok)
            throw new InvalidOperationException($"psf_shm_commit refused record type {type}: {ShmChannel.LastError()}");
        ReceiveThread.NoteSent(_baton);
        return SendStatus.Sent;
    }

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

    // Runs while this thread holds the baton: a thread whose handler lent it to user code and was
    // taken over meanwhile leaves when the handler returns, touching nothing.
    private void ReceiveLoop()
    {
        Reassembly assembly = _assembly!;
        ReceiverBaton baton = _baton!;
        Exception? error = null;
        long lent = 0;
        try
        {
            while (!_stopping)
            {
                NativeStatus status = _channel.TryRead(out ReadOnlySpan<byte> record, out int type);
                if (status == NativeStatus.Again)
                {
                    status = _channel.Wait(ShmRecords.PollNs);
                    if (status is NativeStatus.Ok or NativeStatus.Timeout)
                        continue;
                }
                if (status != NativeStatus.Ok)
                {
                    if (!_stopping)
                        error = Closed($"lost: the peer died or closed without a goodbye ({status})");
                    break;
                }
                if (type == ShmRecords.Goodbye)
                {
                    _channel.Release();
                    break;
                }
                _recordReleased = false;
                _recordReassembled = false;
                lent = 0;
                ReceiveThread.Enter(baton);
                try
                {
                    if (type == ShmRecords.Frame)
                        _handler!.OnFrame(this, record);
                    else if (assembly.TryTake(record, type, out ReadOnlySpan<byte> whole))
                    {
                        _recordReassembled = true;
                        _handler!.OnFrame(this, whole);
                    }
                }
                finally
                {
                    lent = ReceiveThread.Leave();
                    if (lent == 0)
                        ReleaseRecord();
                }
                if (lent != 0)
                {
                    if (!baton.TryReclaim(lent))
                        return; // another thread receives now
                    lent = 0;
                }
            }
        }
        catch (Exception e)
        {
            // Thrown on a lent thread that another has taken over since: not this connection's to
            // report, so it goes to the pool, as user code's exceptions do (TicketCompletions).
            if (lent != 0 && !baton.TryReclaim(lent))
            {
                ThreadPool.UnsafeQueueUserWorkItem(static failure => failure.Throw(), ExceptionDispatchInfo.Capture(e), preferLocal: false);
                return;
            }
            // A handler that throws, or a peer breaking the record protocol: this connection ends,
            // the process does not.
            error = e;
        }
        baton.Retire();
        assembly.Dispose();
        Close(error);
    }

    // The record the handler is being called with is done with: on return, or when the handler
    // lends the thread (the record's span is invalid from then on).
    private void ReleaseRecord()
    {
        if (_recordReleased)
            return;
        _recordReleased = true;
        if (_recordReassembled)
            _assembly!.Delivered();
        _channel.Release();
    }

    private ConnectionClosedException Closed(string what) => new($"connection to {RemoteName} {what}");

    private void Close(Exception? error)
    {
        _stopping = true;
        lock (_sendLock)
            _closed = true;
        if (Interlocked.Exchange(ref _channelClosed, 1) == 0)
            _channel.Dispose();
        if (error is null ? _completion.TrySetResult() : _completion.TrySetException(error))
            _handler?.OnClosed(this, error);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        lock (_sendLock)
        {
            if (!_closed)
                SayGoodbye();
            _closed = true;
        }
        Thread? receiver = _receiveThread;
        if (receiver is null)
            Close(null);
        else if (receiver != Thread.CurrentThread)
        {
            // The receiver closes the segment on its way out, within PollNs. The connection may
            // have failed, and a receiver lent to user code may come back later: neither throws.
            await _completion.Task.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    // Best effort, bounded by one PollNs: without it the peer reports a crash instead of a close.
    private void SayGoodbye()
    {
        NativeStatus status = _channel.TryClaim(0, out _);
        if (status == NativeStatus.Again && _channel.WaitClaim(0, ShmRecords.PollNs) == NativeStatus.Ok)
            status = _channel.TryClaim(0, out _);
        if (status == NativeStatus.Ok)
            _channel.Commit(ShmRecords.Goodbye);
    }
}
