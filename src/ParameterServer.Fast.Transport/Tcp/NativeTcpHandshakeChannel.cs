using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>Runs the handshake over a native TCP channel, before it carries frames.</summary>
internal sealed class NativeTcpHandshakeChannel(TcpChannel channel, string peer) : IHandshakeChannel
{
    // 20 ms slices: a cancelled or timed-out handshake is noticed that quickly.
    private const long SliceNs = 20_000_000;

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        NativeStatus status = channel.Send(data.Span, default, default, default, default, (long)Handshake.Timeout.TotalMilliseconds * 1_000_000);
        return status == NativeStatus.Ok
            ? ValueTask.CompletedTask
            : ValueTask.FromException(new ConnectionClosedException($"{peer}: {status} while sending the handshake ({TcpChannel.LastError()})"));
    }

    public ValueTask ReadExactAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int filled = 0;
        while (filled < buffer.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            NativeStatus status = channel.Receive(buffer.Span[filled..], buffer.Length - filled, out int read, SliceNs);
            filled += read;
            if (status is NativeStatus.Ok or NativeStatus.Timeout)
                continue;
            return ValueTask.FromException(new ConnectionClosedException($"{peer}: {status} during the handshake after {filled} of {buffer.Length} bytes"));
        }
        return ValueTask.CompletedTask;
    }
}
