using System.Net.Sockets;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>
/// Runs the handshake with synchronous calls on a socket, bounded by its receive timeout. The
/// managed engine sets its connections up this way on purpose: a .NET socket that ever ran an
/// asynchronous operation stays non-blocking underneath, and its synchronous Send and Receive
/// then wait through the runtime's epoll thread (a thread hop per wait, ~32 B allocated per
/// send that waits for room). Never touched asynchronously, Send and Receive are one blocking
/// system call each.
/// </summary>
internal sealed class SocketHandshakeChannel : IHandshakeChannel
{
    private readonly Socket _socket;
    private readonly string _peer;

    public SocketHandshakeChannel(Socket socket, string peer)
    {
        _socket = socket;
        _peer = peer;
        _socket.ReceiveTimeout = (int)Handshake.Timeout.TotalMilliseconds;
        _socket.SendTimeout = (int)Handshake.Timeout.TotalMilliseconds;
    }

    /// <summary>Back to unbounded blocking calls for the frames.</summary>
    public void Finish()
    {
        _socket.ReceiveTimeout = 0;
        _socket.SendTimeout = 0;
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            ReadOnlySpan<byte> left = data.Span;
            while (!left.IsEmpty)
                left = left[_socket.Send(left, SocketFlags.None)..];
            return ValueTask.CompletedTask;
        }
        catch (SocketException e)
        {
            return ValueTask.FromException(new ConnectionClosedException($"{_peer}: {e.Message} while sending the handshake", e));
        }
    }

    public ValueTask ReadExactAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            Span<byte> left = buffer.Span;
            while (!left.IsEmpty)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int read = _socket.Receive(left, SocketFlags.None);
                if (read == 0)
                    return ValueTask.FromException(new ConnectionClosedException($"{_peer} closed the connection during the handshake"));
                left = left[read..];
            }
            return ValueTask.CompletedTask;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            return ValueTask.FromException(new OperationCanceledException($"{_peer}: no handshake bytes within {Handshake.Timeout.TotalSeconds:0} s", e));
        }
        catch (SocketException e)
        {
            return ValueTask.FromException(new ConnectionClosedException($"{_peer}: {e.Message} during the handshake", e));
        }
    }
}
