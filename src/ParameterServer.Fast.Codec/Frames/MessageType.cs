namespace ParameterServer.Fast.Codec.Frames;

/// <summary>
/// What a frame asks or answers. The values are wire ABI (one byte at <see cref="FrameLayout.TypeOffset"/>):
/// append new types, never renumber. 0 is never valid, so a zeroed buffer is rejected.
/// </summary>
public enum MessageType : byte
{
    /// <summary>Server → connecting peer: a random challenge (extras) for the HMAC handshake.</summary>
    Handshake = 1,
    /// <summary>Peer → server: HMAC of the challenge over the cluster secret (extras).</summary>
    Auth = 2,
    /// <summary>Node → scheduler: join the job with a role and an address (extras).</summary>
    Register = 3,
    /// <summary>Scheduler → all: the versioned key range → server map (argument = version, extras = map).</summary>
    RangeMap = 4,
    Heartbeat = 5,
    /// <summary>Enter or release a barrier (argument = barrier id).</summary>
    Barrier = 6,
    /// <summary>Create a table (extras = table spec).</summary>
    DeclareTable = 7,
    /// <summary>Worker → server: keys (or a range) and values to apply through the updater.</summary>
    Push = 8,
    PushAck = 9,
    /// <summary>Worker → server: keys (or a range) whose values are wanted; the clock is the worker's.</summary>
    Pull = 10,
    /// <summary>Server → worker: values of a pull, in the pull's key order.</summary>
    PullResponse = 11,
    /// <summary>Receiver → sender: "cache miss, send the full key list" (keys = the unknown signature).</summary>
    KeyListRequest = 12,
    /// <summary>Primary → backup: an aggregated update down the replica chain.</summary>
    Replicate = 13,
    ReplicateAck = 14,
    /// <summary>Worker → scheduler/servers: the worker's iteration clock advanced.</summary>
    Clock = 15,
    /// <summary>Worker → scheduler: objective and counters (extras).</summary>
    Progress = 16,
    /// <summary>Any → any: a failure (argument = code, extras = UTF-8 message).</summary>
    Error = 17,
    Shutdown = 18,
    /// <summary>Operator → scheduler: "send the job's status" (no sections; the reply carries the request id).</summary>
    StatusRequest = 19,
    /// <summary>Scheduler → operator: nodes, ranges, replicas, clocks and throughput (extras = ClusterStatus).</summary>
    StatusReply = 20,
    /// <summary>
    /// Scheduler → the tail of a short replica chain: copy one range to a new member (request id =
    /// transfer id, table id, extras = range, the new member's id and address).
    /// </summary>
    RangeTransfer = 21,
    /// <summary>
    /// Source → new member: one piece of a range copy (request id = transfer id, argument = piece:
    /// 0 begin with the applied request ids, 1 rows, 2 end; extras = the piece).
    /// </summary>
    RangeRows = 22,
    /// <summary>New member → scheduler: the range's copy is applied (request id = transfer id, extras = rows).</summary>
    RangeCopied = 23,
    /// <summary>
    /// Server → worker: "this range is no longer mine as of range map version V" (argument = V):
    /// the request is resent to the range's server once the worker holds map V.
    /// </summary>
    Moved = 24,
    /// <summary>Operator → scheduler (<c>psf drain</c>): move every range off server <c>argument</c> (its rank), then stop it.</summary>
    DrainRequest = 25,
    /// <summary>Scheduler → operator: the drain asked with the same request id is done (a refusal is an Error).</summary>
    DrainReply = 26,
    /// <summary>Scheduler → worker, before its Register reply: take a checkpoint every <c>argument</c> clocks.</summary>
    CheckpointPlan = 30,
    /// <summary>Worker → scheduler: every push of this worker's iterations before the clock is acknowledged; hold me until the checkpoint at it is taken.</summary>
    CheckpointEnter = 31,
    /// <summary>Scheduler → server: write your file of the checkpoint at the clock (extras = the checkpoint root folder).</summary>
    CheckpointWrite = 32,
    /// <summary>Server → scheduler: the file is written (extras = its length and CRC-32C) or could not be (extras = why).</summary>
    CheckpointWritten = 33,
    /// <summary>Scheduler → worker: the checkpoint at the clock is over (argument 1 = committed, 0 = not taken); go on.</summary>
    CheckpointDone = 34,
    /// <summary>Scheduler → server, before its Register reply: fill the tables from the checkpoint at the clock (extras = its folder).</summary>
    CheckpointRestore = 35,
    /// <summary>Server → scheduler: restoring from the checkpoint failed (extras = why); the job cannot go on.</summary>
    CheckpointRestoreFailed = 36,
}
