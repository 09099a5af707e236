namespace ParameterServer.Fast.Transport.Connections;

/// <summary>
/// <see cref="IConnection.SendAsync"/> over the status API: <see cref="SendStatus.NotConnected"/>
/// becomes the <see cref="ConnectionClosedException"/> callers of SendAsync have always seen.
/// A send that completed at once costs no allocation; only the closed case builds an exception.
/// </summary>
internal static class SendResults
{
    public static ValueTask ThrowIfNotSent(IConnection connection, ValueTask<SendStatus> pending)
    {
        if (!pending.IsCompletedSuccessfully)
            return Await(connection, pending);
        return pending.Result == SendStatus.Sent ? ValueTask.CompletedTask : ValueTask.FromException(Closed(connection));
    }

    private static async ValueTask Await(IConnection connection, ValueTask<SendStatus> pending)
    {
        if (await pending.ConfigureAwait(false) != SendStatus.Sent)
            throw Closed(connection);
    }

    /// <summary>"connection to X is closed", with the reason the connection ended when there was one.</summary>
    public static ConnectionClosedException Closed(IConnection connection)
    {
        Exception? reason = connection.Completion.IsFaulted ? connection.Completion.Exception?.InnerException : null;
        return reason is null
            ? new ConnectionClosedException($"connection to {connection.RemoteName} is closed")
            : new ConnectionClosedException($"connection to {connection.RemoteName} is closed: {reason.Message}", reason);
    }
}
