namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// What became of a frame given to <see cref="IConnection.TrySend"/> or
/// <see cref="IConnection.TrySendAsync"/>: the expected conditions of the data path are values,
/// not exceptions (as Aeron's <c>Publication.offer</c> returns BACK_PRESSURED / NOT_CONNECTED).
/// </summary>
public enum SendStatus
{
    /// <summary>The frame was handed to the transport whole; its segments may be reused.</summary>
    Sent = 0,

    /// <summary>
    /// Nothing of the frame was sent because the transport has no room for it now (a full ring,
    /// a full socket buffer, no RDMA credit, another sender mid-frame). Try again later, or wait
    /// for room with <see cref="IConnection.TrySendAsync"/>.
    /// </summary>
    BackPressured = 1,

    /// <summary>The connection is closed or its peer is gone: nothing more can be sent on it.</summary>
    NotConnected = 2,
}
