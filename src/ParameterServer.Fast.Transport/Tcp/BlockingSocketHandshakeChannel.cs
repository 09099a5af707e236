using System.Net.Sockets;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>
/// Runs the handshake over a plain TCP socket with blocking calls only. On Linux one asynchronous
/// operation turns a .NET socket non-blocking for good, after which every synchronous receive that
/// finds nothing waiting allocates an operation and is woken through the runtime's epoll thread —
/// a thread hop and garbage on every frame. Kept blocking, the receive thread sleeps in recv()
/// itself. Cancellation (the handshake's timeout) shuts the socket down, which ends a blocked call.
/// </summary>
internal sealed class BlockingSocketHandshakeChannel(Socket socket) : IHandshakeChannel
{
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        using CancellationTokenRegistration stop = StopOnCancel(cancellationToken);
        try
        {
            ReadOnlySpan<byte> left = data.Span;
            while (!left.IsEmpty)
                left = left[socket.Send(left, SocketFlags.None)..];
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask ReadExactAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        using CancellationTokenRegistration stop = StopOnCancel(cancellationToken);
        try
        {
            Span<byte> left = buffer.Span;
            while (!left.IsEmpty)
            {
                int read = socket.Receive(left, SocketFlags.None);
                if (read == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    throw new EndOfStreamException("the peer closed the connection during the handshake");
                }
                left = left[read..];
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        return ValueTask.CompletedTask;
    }

    private CancellationTokenRegistration StopOnCancel(CancellationToken cancellationToken) =>
        cancellationToken.UnsafeRegister(static s =>
        {
            try
            {
                ((Socket)s!).Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already closed: the blocked call has ended anyway.
            }
        }, socket);
}
