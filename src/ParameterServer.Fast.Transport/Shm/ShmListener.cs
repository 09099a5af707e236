using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.Shm;

/// <summary>
/// Accepts rendezvous connections in the background; each gets its own segment and handshake,
/// so a stalled or foreign peer delays nobody else, and only authenticated connections reach
/// <see cref="AcceptAsync"/>.
/// </summary>
internal sealed class ShmListener : IListener
{
    private readonly ShmTransport _transport;
    private readonly Socket _socket;
    private readonly Channel<IConnection> _accepted = Channel.CreateUnbounded<IConnection>();
    private readonly CancellationTokenSource _stop = new();

    public ShmListener(ShmTransport transport, Socket socket, Endpoint local)
    {
        _transport = transport;
        _socket = socket;
        LocalEndpoint = local;
        _ = Task.Run(AcceptLoop);
    }

    public Endpoint LocalEndpoint { get; }

    public ValueTask<IConnection> AcceptAsync(CancellationToken cancellationToken = default) => _accepted.Reader.ReadAsync(cancellationToken);

    private async Task AcceptLoop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket accepted = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
                _ = Task.Run(() => Offer(accepted));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            _accepted.Writer.TryComplete(new ConnectionClosedException($"listener on {LocalEndpoint} stopped"));
        }
    }

    private async Task Offer(Socket rendezvous)
    {
        string segment = ShmTransport.NewSegmentName();
        string peer = $"shm://{segment}";
        ShmChannel? channel = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(Handshake.Timeout);
            using (rendezvous)
            {
                channel = ShmChannel.Create(segment, _transport.RingBytes);
                byte[] name = Encoding.ASCII.GetBytes(segment);
                var offer = new byte[2 + name.Length];
                BinaryPrimitives.WriteUInt16LittleEndian(offer, (ushort)name.Length);
                name.CopyTo(offer, 2);
                await rendezvous.SendAsync(offer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                var ack = new byte[1];
                int read = await rendezvous.ReceiveAsync(ack, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (read == 0 || ack[0] != 0)
                    throw new ConnectionClosedException($"{LocalEndpoint}: a peer did not attach the offered segment");
            }
            await Handshake.AcceptAsync(new ShmHandshakeChannel(channel, peer), _transport.Secret, peer, _stop.Token).ConfigureAwait(false);
            var connection = new ShmConnection(channel, peer, _transport.MaxFrameBytes);
            channel = null;
            if (!_accepted.Writer.TryWrite(connection))
                await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException or OperationCanceledException or ObjectDisposedException or NativeException)
        {
            // A peer without the secret, or one that vanished mid-setup, is refused and logged.
            _transport.Logger.LogWarning("{Message}", e.Message);
        }
        finally
        {
            channel?.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _socket.Dispose();
        _accepted.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}
