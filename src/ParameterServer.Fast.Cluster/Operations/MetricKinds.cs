namespace ParameterServer.Fast.Cluster.Operations;

/// <summary>What a handled request was (the <c>kind</c> label of psf_requests_total).</summary>
public enum RequestKind
{
    Push,
    Pull,
    /// <summary>An aggregated update forwarded down the replica chain.</summary>
    Replicate,
    /// <summary>Register, range map, barrier, heartbeat, clock, progress, status.</summary>
    Control,
}

/// <summary>Why a node was waiting (the <c>cause</c> label of psf_wait_duration_seconds).</summary>
public enum WaitCause
{
    /// <summary>A pull held back by bounded delay until the slowest worker caught up.</summary>
    Consistency,
    /// <summary>A worker waiting for a server's answer: network plus server time.</summary>
    Network,
    /// <summary>A push waiting for the tail of its replica chain.</summary>
    Replication,
    /// <summary>A worker waiting at a barrier for the others.</summary>
    Barrier,
    /// <summary>A frame waiting in a node's inbox before its thread took it.</summary>
    Queue,
}

/// <summary>Which queue a depth is of (the <c>queue</c> label of psf_queue_depth).</summary>
public enum QueueKind
{
    /// <summary>Frames received and not yet handled.</summary>
    Inbox,
    /// <summary>A worker's requests sent and not yet answered.</summary>
    InFlight,
    /// <summary>Pulls a server holds back for bounded delay.</summary>
    HeldPulls,
    /// <summary>Frames handed to a connection and not yet on the wire.</summary>
    Outbox,
}

/// <summary>Traffic direction (the <c>direction</c> label of psf_bytes_total).</summary>
public enum TrafficDirection
{
    Sent,
    Received,
}
