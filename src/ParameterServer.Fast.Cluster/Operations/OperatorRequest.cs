using ParameterServer.Fast.Cluster.Nodes;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Operations;

/// <summary>
/// One request of an operator's command to a scheduler (<c>psf status</c>, <c>psf drain</c>):
/// connects (authenticating like any node), sends one frame and waits for the answer of the
/// expected type, or an Error, with the same request id. Every wait is bounded by the timeout;
/// every failure says what happened and where.
/// </summary>
internal static class OperatorRequest
{
    /// <returns>The answer's frame bytes: <paramref name="replyType"/> or <see cref="MessageType.Error"/>.</returns>
    /// <exception cref="TimeoutException">No connection or no answer within <paramref name="timeout"/>.</exception>
    /// <exception cref="IOException">The connection failed or closed before the answer.</exception>
    public static async Task<byte[]> AskAsync(ITransport transport, Endpoint scheduler, FrameHeader request, MessageType replyType, string what,
        TimeSpan timeout, CancellationToken cancellationToken)
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
            var reply = new ReplyHandler(request.RequestId, replyType);
            connection.Start(reply);
            await FrameOut.SendControl(connection, request).ConfigureAwait(false);
            try
            {
                return await reply.Answer.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"the scheduler at {scheduler} did not answer {what} within {timeout.TotalSeconds:0.#} s");
            }
        }
    }

    // Keeps the first answer of the expected type, or Error, to our request; anything else the scheduler sends is not for us.
    private sealed class ReplyHandler(ulong requestId, MessageType replyType) : IFrameHandler
    {
        private readonly TaskCompletionSource<byte[]> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<byte[]> Answer => _answer.Task;

        public void OnFrame(IConnection connection, ReadOnlySpan<byte> frame)
        {
            if (frame.Length <= FrameLayout.TypeOffset || frame.Length < FrameLayout.RequestIdOffset + sizeof(ulong))
                return;
            var type = (MessageType)frame[FrameLayout.TypeOffset];
            ulong id = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(frame[FrameLayout.RequestIdOffset..]);
            if (id == requestId && (type == replyType || type == MessageType.Error))
                _answer.TrySetResult(frame.ToArray());
        }

        public void OnClosed(IConnection connection, Exception? error) =>
            _answer.TrySetException(new IOException($"the scheduler closed the connection before answering{(error is null ? "" : $": {error.Message}")}", error));
    }
}
