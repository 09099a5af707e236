using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>Runs the handshake over a stream (a TCP connection before it carries frames).</summary>
internal sealed class StreamHandshakeChannel(Stream stream) : IHandshakeChannel
{
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        stream.WriteAsync(data, cancellationToken);

    public ValueTask ReadExactAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        stream.ReadExactlyAsync(buffer, cancellationToken);
}
