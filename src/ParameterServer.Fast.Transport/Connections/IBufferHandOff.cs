using ParameterServer.Fast.Codec.Buffers;

namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// A connection that can take a frame's pooled buffer itself instead of its bytes: the in-process
/// transport passes the buffer to the peer's receive thread, so a frame built by the codec
/// reaches the receiver's handler without one byte copied by the transport. Callers holding a
/// frame in a <see cref="PinnedBuffer"/> they would otherwise send and dispose use this when the
/// connection offers it.
/// </summary>
public interface IBufferHandOff
{
    /// <summary>
    /// Sends the first <paramref name="length"/> bytes of <paramref name="buffer"/> as one frame and
    /// takes the buffer over whatever the outcome: the connection disposes it (back to its pool)
    /// once the peer has handled the frame, or at once when the frame cannot be sent
    /// (<see cref="SendStatus.NotConnected"/>). The caller must not touch the buffer afterwards.
    /// </summary>
    SendStatus HandOff(PinnedBuffer buffer, int length);
}
