using System.Diagnostics;
using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Cluster.Replication;
using ParameterServer.Fast.Codec.Buffers;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Codec.Values;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Chain replication after aggregation. The primary applies pushes, gathers those of one range
/// into a batch (<see cref="ReplicationBatcher"/>), and when the batch closes sends the state of
/// every row they touched — weights and updater state, once per row — down the range's chain,
/// with the (worker, request id) pairs it contains. Each member overwrites its rows, records the
/// pairs and passes the same rows on; the tail acknowledges, and the acknowledgement travels back
/// up to every worker whose push was in the batch.
/// <para>
/// Why no acknowledged update is lost and none applied twice: every push changes only rows it
/// marks in the open batch of its range, and a batch is read in one step of the inbox, so the rows
/// a batch carries hold exactly the pushes of that batch and the batches before it. Forwards go to
/// a successor in the order they were made and are resent in that order after a failover, so a
/// member's rows always end at the newest state sent. A push is acknowledged only once the tail
/// holds a batch containing it; a worker resends the pushes it has no acknowledgement for, and a
/// member that already holds one (its pair is recorded) does not apply it again, but marks its rows
/// anew, so their state goes down the chain once more.
/// </para>
/// </summary>
public sealed partial class ServerNode
{
    /// <summary>Pushes of one range replicated together at most (<c>psf server --replication-batch</c>).</summary>
    public const int DefaultReplicationBatch = 16;

    private readonly List<(uint Worker, ulong RequestId)> _replicatedPushes = [];
    private readonly EarlyRows _earlyRows = new();

    // After a new map: rows that were sent under it and came first are taken now, in arrival order.
    private void TakeEarlyRows()
    {
        if (_earlyRows.IsEmpty)
            return;
        foreach ((IConnection connection, byte[] bytes) in _earlyRows.TakeUpTo(_map?.Version ?? 0))
            OnFrame(connection, bytes);
    }

    /// <summary>Replicate frames this server sent (batches and forwards, resends included), for tests.</summary>
    public long ReplicateFramesSent { get; private set; }

    private void Batch(ServerTable table, RangeAssignment part, KeyRange? range, ReadOnlySpan<ulong> keys, ChainUpstream upstream, uint worker)
    {
        // Keys pushed to a dense table mark the range that spans them: its rows go as one block.
        KeyRange? rows = range ?? (table.Layout.Spec.Kind == TableKind.Dense ? Span(null, keys) : null);
        if (_batcher.Add(table.Layout.Id, part.Range, rows, keys, upstream, worker, upstream.Id) is { } full)
            Launch(full);
    }

    // The inbox has nothing else to run: every open batch goes now, so a server that keeps up
    // replicates each push at once and batches only under load.
    private void FlushBatches()
    {
        if (_batcher.IsEmpty)
            return;
        foreach (ReplicationBatcher.Batch batch in _batcher.TakeAll())
            Launch(batch);
    }

    // Reads the batch's rows (in this step: the state of exactly its pushes and those before) and
    // sends them to the range's successor, or acknowledges them if the chain has none any more.
    private void Launch(ReplicationBatcher.Batch batch)
    {
        ServerTable table = _tables[batch.Table];
        Table holder = table.PartHolding(batch.Part);
        ulong[]? keys = batch.Hull is null ? batch.MergedKeys() : null;
        float[] values = new float[checked((int)holder.RowFloats(keys?.LongLength ?? (long)batch.Hull!.Value.Size))];
        if (keys is null)
            holder.CopyRowsOut(batch.Hull!.Value, values);
        else
            holder.CopyRowsOut(keys, values);
        var forward = new ChainForward(batch.Table, batch.Part, keys, batch.Hull, values, ReplicatedRows.EncodeExtras(batch.Part, batch.Pushes),
            fromWorkers: true, batch.Upstreams, batch.Started);
        RangeAssignment part = table.Layout.Ranges[table.Layout.PartOf(batch.Part.Begin)];
        if (DropsForward(forward, part))
            return;
        if (ForwardTo(batch.Table, part) is int successor)
        {
            forward.Successor = successor;
            SendForward(_forwards.Add(forward), forward);
            _metrics?.SetReplicationLag(_forwards.Count);
        }
        else
        {
            AckUpstream(forward);
        }
    }

    // Rows from the predecessor in a chain (or from the tail copying a range here): overwritten,
    // their pushes recorded, then passed on to this server's successor or acknowledged.
    private void ReceiveRows(IConnection connection, ReadOnlySpan<byte> bytes, in Frame frame)
    {
        // Rows sent under a map this server has not seen yet wait for it: judged by the older
        // map, rows from a new predecessor could be taken while rows its old source forwarded
        // are still arriving, and the older rows would overwrite the newer.
        if (frame.Clock > (_map?.Version ?? 0))
        {
            _earlyRows.Hold(connection, bytes, (uint)Math.Min(frame.Clock, uint.MaxValue));
            return;
        }
        long started = Stopwatch.GetTimestamp();
        ServerTable table = TableOf(frame);
        KeyRange partRange = ReplicatedRows.DecodeExtras(frame.Extras, _replicatedPushes);
        RangeAssignment part = table.Layout.Ranges[table.Layout.PartOf(partRange.Begin)];
        if (!TakesChainUpdates(frame.TableId, part, (int)frame.Argument))
            return; // dropped unacknowledged: see TakesChainUpdates
        KeyRange? range = frame.TryGetKeyRange(out KeyRange r) ? r : null;
        scoped ReadOnlySpan<ulong> keys = default;
        if (range is null && !TryDecodeKeys(connection, frame, out keys))
            return;
        if (!partRange.Contains(Span(range, keys)))
            throw new ProtocolException($"replicated rows {Span(range, keys)} lie outside their range {partRange}");
        Table holder = table.PartHolding(partRange);
        ReadOnlySpan<float> values = RawOrDecoded(frame);
        long rows = range is { } rr ? (long)rr.Size : keys.Length;
        if (holder.RowFloats(rows) != values.Length)
            throw new ArgumentException($"table '{table.Layout.Spec.Name}': {rows} replicated rows need {holder.RowFloats(rows)} values (weights and updater state), the frame has {values.Length}");
        if (range is { } whole)
            holder.CopyRowsIn(whole, values);
        else
            holder.CopyRowsIn(keys, values);
        foreach ((uint worker, ulong request) in _replicatedPushes)
        {
            if (_applied.TryRecord(worker, request, frame.TableId, partRange.Begin))
                PushesApplied++;
        }
        _metrics?.RequestHandledSince(Operations.RequestKind.Replicate, started);
        var upstream = new ChainUpstream(connection, frame.RequestId, started);
        if (ForwardTo(frame.TableId, part) is int successor)
        {
            var forward = new ChainForward(frame.TableId, partRange, range is null ? keys.ToArray() : null, range, values.ToArray(), frame.Extras.ToArray(),
                fromWorkers: false, [upstream], started) { Successor = successor, UpstreamServer = (int)frame.Argument };
            SendForward(_forwards.Add(forward), forward);
            _metrics?.SetReplicationLag(_forwards.Count);
            return;
        }
        _ = FrameOut.SendControl(connection, new FrameHeader(MessageType.ReplicateAck, frame.TableId, _nodeId, frame.RequestId));
    }

    private void AckUpstream(ChainForward forward)
    {
        double replicated = Stopwatch.GetElapsedTime(forward.Started).TotalSeconds;
        _metrics?.Replicated(replicated);
        _metrics?.SetReplicationLag(_forwards.Count);
        foreach (ChainUpstream upstream in forward.Upstreams)
        {
            if (forward.FromWorkers)
            {
                _metrics?.Waited(Operations.WaitCause.Replication, Stopwatch.GetElapsedTime(upstream.Started).TotalSeconds);
                AckPush(upstream.Connection, forward.TableId, upstream.Id, upstream.Started);
            }
            else
            {
                _ = FrameOut.SendControl(upstream.Connection, new FrameHeader(MessageType.ReplicateAck, forward.TableId, _nodeId, upstream.Id));
            }
        }
    }

    // The rows go on with this server's forward id (for the ack) and its node id in the argument,
    // so the successor can tell rows from its chain.
    private void SendForward(ulong id, ChainForward forward)
    {
        forward.Sent = false;
        if (!_joiners.IsEmpty && _joiners.Holds(forward.Successor))
            return; // sent after the range copy's frames (ReleaseHeldForwards)
        if (!_peers.TryGetValue(forward.Successor, out IConnection? peer))
            return; // sent once the connection is up (RerouteForwards after the map's peers connect)
        // The clock field carries the map this is sent under (see ReceiveRows).
        var header = new FrameHeader(MessageType.Replicate, forward.TableId, _nodeId, id, _map?.Version ?? 0, _nodeId);
        PinnedBuffer buffer = FrameBufferPool.Shared.Rent(FrameLayout.MaxFrameLength(forward.Keys?.Length ?? 2, forward.Values.Length, forward.Extras.Length));
        int length;
        try
        {
            var writer = FrameWriter.Claim(buffer.Span, header);
            if (forward.Rows is { } rows)
                writer.WriteKeyRange(rows.Begin, rows.End);
            else
                writer.WriteKeys(forward.Keys, Codec.Keys.KeyEncodingPolicy.Smallest, null);
            writer.WriteValues(forward.Values, ValueEncoding.Raw);
            writer.WriteExtras(forward.Extras);
            length = writer.Commit();
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
        ReplicateFramesSent++;
        _metrics?.Traffic(Operations.TrafficDirection.Sent, length);
        ValueTask sent = FrameOut.Send(peer, buffer, length);
        forward.Sent = !sent.IsFaulted;
        _ = sent;
    }

    // After a map change, oldest first (later rows overwrite earlier ones): rows in flight to a
    // successor that is gone go to the new one or, when this server is now the chain's tail, are
    // acknowledged — the surviving chain holds them.
    private void RerouteForwards()
    {
        if (_forwards.Count == 0)
            return;
        foreach ((ulong id, ChainForward forward) in _forwards.InOrder())
        {
            ServerTable table = _tables[forward.TableId];
            RangeAssignment part = table.Layout.Ranges[table.Layout.PartOf(forward.Part.Begin)];
            if (DropsForward(forward, part))
            {
                _forwards.TryTake(id, out _);
            }
            else if (ForwardTo(forward.TableId, part) is not int successor)
            {
                _forwards.TryTake(id, out _);
                AckUpstream(forward);
            }
            else if (successor != forward.Successor || !forward.Sent)
            {
                forward.Successor = successor;
                SendForward(id, forward);
            }
        }
    }

    /// <summary>Frames waiting in this server's inbox (tests hold the inbox to make pushes queue).</summary>
    internal int InboxDepth => _inbox.Depth;

    /// <summary>Runs <paramref name="work"/> in turn with the frames, on the thread that owns the tables.</summary>
    internal Task<T> OnInboxAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_inbox.Post(() =>
            {
                try
                {
                    done.TrySetResult(work());
                }
                catch (Exception e)
                {
                    done.TrySetException(e);
                }
            }))
            done.TrySetException(new ObjectDisposedException("the server has stopped"));
        return done.Task;
    }

    /// <summary>The parts of a table this server holds (read them on the inbox: <see cref="OnInboxAsync"/>).</summary>
    internal IReadOnlyList<(KeyRange Range, Table Table)> HeldParts(uint tableId) =>
        _tables.TryGetValue(tableId, out ServerTable? table) ? table.Parts : [];
}
