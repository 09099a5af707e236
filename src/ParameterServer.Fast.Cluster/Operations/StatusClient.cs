using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Operations;

/// <summary>
/// Asks a scheduler for the job's status (<c>psf status</c>): connects (authenticating like any
/// node), sends one StatusRequest and waits for the StatusReply, or the Error, with the same request
/// id. Every wait is bounded by the timeout; every failure says what happened and where.
/// </summary>
public static class StatusClient
{
    /// <summary>The sender id of an operator's request: no node has it (nodes are 0, 1.., 65536..).</summary>
    public const uint OperatorId = uint.MaxValue;

    internal const ulong RequestId = 1;

    /// <exception cref="TimeoutException">No connection or no answer within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The scheduler answered with an error (one without status support says so).</exception>
    /// <exception cref="InvalidDataException">The reply was malformed.</exception>
    /// <exception cref="IOException">The connection failed or closed before the answer.</exception>
    public static async Task<ClusterStatus> QueryAsync(ITransport transport, Endpoint scheduler, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        byte[] bytes = await OperatorRequest.AskAsync(transport, scheduler, new FrameHeader(MessageType.StatusRequest, SenderId: OperatorId, RequestId: RequestId),
            MessageType.StatusReply, "the status request", timeout, cancellationToken).ConfigureAwait(false);
        return Decode(bytes, scheduler);
    }

    private static ClusterStatus Decode(byte[] bytes, Endpoint scheduler)
    {
        try
        {
            Frame frame = new FrameDecoder().Read(bytes);
            if (frame.Type == MessageType.Error)
                throw new InvalidOperationException($"the scheduler at {scheduler} refused the status request: {FrameDecoder.ErrorMessage(frame)}");
            return StatusMessages.DecodeClusterStatus(frame.Extras);
        }
        catch (ProtocolException e)
        {
            throw new InvalidDataException($"the status reply of the scheduler at {scheduler} is malformed: {e.Message}", e);
        }
    }
}
