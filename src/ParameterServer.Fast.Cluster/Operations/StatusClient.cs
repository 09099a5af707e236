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

    private const ulong RequestId = 1;

    /// <exception cref="TimeoutException">No connection or no answer within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The scheduler answered with an error (one without status support says so).</exception>
    /// <exception cref="InvalidDataException">The reply was malformed.</exception>
    /// <exception cref="IOException">The connection failed or closed before the answer.</exception>
    public static async Task<ClusterStatus> QueryAsync(ITransport transport, Endpoint scheduler, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        IConnection connection;
        try
        {
            connection = await transport.ConnectAsync(scheduler, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no connection to the scheduler at {scheduler} within {timeout.TotalSeconds:0.#} s");
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new IOException($"cannot reach the scheduler at {scheduler}: {e.Message}", e);
        }
        await using (connection.ConfigureAwait(false))
        {
            var reply = new ReplyHandler();
            connection.Start(reply);
            await FrameOut.SendControl(connection, new FrameHeader(MessageType.StatusRequest, SenderId: OperatorId, RequestId: RequestId)).ConfigureAwait(false);
            byte[] bytes;
            try
            {
                bytes = await reply.Answer.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"the scheduler at {scheduler} did not answer the status request within {timeout.TotalSeconds:0.#} s");
            }
            return Decode(bytes, scheduler);
        }
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

    // Keeps the first StatusReply or Error answering our request; anything else the scheduler sends is not for us.
    private sealed class ReplyHandler : IFrameHandler
    {
        private readonly TaskCompletionSource<byte[]> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<byte[]> Answer => _answer.Task;

        public void OnFrame(IConnection connection, ReadOnlySpan<byte> frame)
        {
            if (frame.Length <= FrameLayout.TypeOffset || frame.Length < FrameLayout.RequestIdOffset + sizeof(ulong))
                return;
            var type = (MessageType)frame[FrameLayout.TypeOffset];
            ulong id = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(frame[FrameLayout.RequestIdOffset..]);
            if (id == RequestId && type is MessageType.StatusReply or MessageType.Error)
                _answer.TrySetResult(frame.ToArray());
        }

        public void OnClosed(IConnection connection, Exception? error) =>
            _answer.TrySetException(new IOException($"the scheduler closed the connection before answering{(error is null ? "" : $": {error.Message}")}", error));
    }
}
