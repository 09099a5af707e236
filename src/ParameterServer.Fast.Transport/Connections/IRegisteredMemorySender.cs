namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// A connection whose device reads frames straight from registered memory: the tables' slabs
/// announced to <see cref="Core.Memory.PinnedRegions"/> (RDMA registers them as memory regions).
/// A caller with a large value section in a slab (a dense range pull answer) hands it over as a
/// gather segment instead of copying it into a frame buffer; the connection sends what lies in a
/// registered slab from in place and copies the rest, as any send would.
/// </summary>
public interface IRegisteredMemorySender
{
    /// <summary>
    /// Sends one frame, waiting for room while the peer lives, and returns only once every byte of
    /// it has been read (copied, or transferred by the device and its completion seen): the caller
    /// may change the memory behind the segments as soon as this returns, so a table changed by
    /// the next request cannot tear the answer. <see cref="SendStatus.Sent"/> or
    /// <see cref="SendStatus.NotConnected"/>; nothing of the frame is read after either.
    /// </summary>
    SendStatus SendInPlace(FrameSegments frame);
}
