using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Operations;

/// <summary>
/// Asks a running job's scheduler to drain one server out (<c>psf drain</c>): its ranges move to
/// the other servers while the job goes on, then it is told to stop. Completes when the scheduler
/// reports the drain done; a refusal (no replicas, too few servers left, an unknown rank) is an
/// <see cref="InvalidOperationException"/> with the scheduler's reason.
/// </summary>
public static class DrainClient
{
    /// <exception cref="TimeoutException">No connection, or the drain not finished, within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The scheduler refused the drain, with why.</exception>
    /// <exception cref="IOException">The connection failed or closed before the answer.</exception>
    public static async Task DrainAsync(ITransport transport, Endpoint scheduler, int serverRank, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(serverRank);
        byte[] bytes = await OperatorRequest.AskAsync(transport, scheduler,
            new FrameHeader(MessageType.DrainRequest, SenderId: StatusClient.OperatorId, RequestId: StatusClient.RequestId, Argument: (uint)serverRank),
            MessageType.DrainReply, $"the drain of server {serverRank}", timeout, cancellationToken).ConfigureAwait(false);
        Frame frame;
        try
        {
            frame = new FrameDecoder().Read(bytes);
        }
        catch (ProtocolException e)
        {
            throw new InvalidDataException($"the drain reply of the scheduler at {scheduler} is malformed: {e.Message}", e);
        }
        if (frame.Type == MessageType.Error)
            throw new InvalidOperationException($"the scheduler at {scheduler} refused: {FrameDecoder.ErrorMessage(frame)}");
    }
}
