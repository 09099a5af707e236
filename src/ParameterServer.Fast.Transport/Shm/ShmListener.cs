using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.Shm;

/// <summary>Accepts rendezvous connections; each gets its own segment and handshake (see <see cref="SocketListener"/>).</summary>
internal sealed class ShmListener : SocketListener
{
    private readonly ShmTransport _transport;

    public ShmListener(ShmTransport transport, Socket socket, Endpoint local) : base(socket, local, transport.Logger)
    {
        _transport = transport;
        Start();
    }

    // Offers the connector a fresh segment over the rendezvous socket, waits until it attached,
    // then runs the handshake inside the segment's rings.
    protected override async Task<IConnection> SetUpAsync(Socket rendezvous)
    {
        string segment = ShmTransport.NewSegmentName();
        // A Unix socket has no address to log: the connecting process's pid stands for it.
        string peer = PeerPid(rendezvous) is int pid ? $"shm://{segment} (pid {pid})" : $"shm://{segment}";
        ShmChannel? channel = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Stop.Token);
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
            await Handshake.AcceptAsync(new ShmHandshakeChannel(channel, peer), _transport.Secret, peer, Stop.Token).ConfigureAwait(false);
            var connection = new ShmConnection(channel, peer, _transport.MaxFrameBytes);
            channel = null;
            return connection;
        }
        finally
        {
            channel?.Dispose();
        }
    }

    // SO_PEERCRED: struct ucred { pid, uid, gid } of the process at the other end.
    private static int? PeerPid(Socket rendezvous)
    {
        const int SolSocket = 1, SoPeerCred = 17;
        Span<byte> credentials = stackalloc byte[12];
        try
        {
            return rendezvous.GetRawSocketOption(SolSocket, SoPeerCred, credentials) >= 4
                ? BinaryPrimitives.ReadInt32LittleEndian(credentials)
                : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
