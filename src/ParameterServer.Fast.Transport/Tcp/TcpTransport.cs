using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>
/// TCP over IPv4 or IPv6 with managed sockets on pinned buffers: TCP_NODELAY (frames are whole
/// messages; Nagle would only add latency), kernel-autotuned buffer sizes, and the HMAC handshake
/// on every connection before the first frame. With <see cref="TlsOptions"/> every connection is
/// encrypted as well (both ends must agree: a TLS node refuses a plain one and vice versa).
/// </summary>
public sealed class TcpTransport(ClusterSecret secret, ILogger? logger = null, int maxFrameBytes = TcpTransport.DefaultMaxFrameBytes, TlsOptions? tls = null) : ITransport
{
    /// <summary>1 GiB: a larger announced length is a lie or a bug, refused before any allocation.</summary>
    public const int DefaultMaxFrameBytes = 1 << 30;

    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public TransportKind Kind => TransportKind.Tcp;

    public IListener Listen(Endpoint endpoint)
    {
        IPEndPoint ip = endpoint.ToIPEndPoint();
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(ip);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        return new Listener(this, socket, new Endpoint(TransportKind.Tcp, bound.Address.ToString(), bound.Port));
    }

    public async ValueTask<IConnection> ConnectAsync(Endpoint endpoint, CancellationToken cancellationToken = default)
    {
        IPEndPoint ip = endpoint.ToIPEndPoint();
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (tls is not null)
            {
                await socket.ConnectAsync(ip, cancellationToken).ConfigureAwait(false);
                return await TlsChannel.ConnectAsync(socket, secret, endpoint.ToString(), maxFrameBytes, cancellationToken).ConfigureAwait(false);
            }
            // Blocking connect and handshake on a pool thread: the socket must never see an
            // asynchronous call (see BlockingSocketHandshakeChannel).
            await Task.Run(async () =>
            {
                using (cancellationToken.UnsafeRegister(static s => ((Socket)s!).Dispose(), socket))
                {
                    try
                    {
                        socket.Connect(ip);
                    }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
                    {
                        throw new OperationCanceledException(cancellationToken);
                    }
                }
                await Handshake.ConnectAsync(new BlockingSocketHandshakeChannel(socket), secret, endpoint.ToString(), cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            return new TcpConnection(socket, endpoint.ToString(), maxFrameBytes);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private sealed class Listener : SocketListener
    {
        private readonly TcpTransport _transport;

        public Listener(TcpTransport transport, Socket socket, Endpoint local) : base(socket, local, transport.Logger)
        {
            _transport = transport;
            Start();
        }

        protected override async Task<IConnection> SetUpAsync(Socket accepted)
        {
            accepted.NoDelay = true;
            string peer = accepted.RemoteEndPoint is IPEndPoint ip ? new Endpoint(TransportKind.Tcp, ip.Address.ToString(), ip.Port).ToString() : "tcp://?";
            if (_transport.Tls is { } tls)
                return await TlsChannel.AcceptAsync(accepted, tls, _transport.Secret, peer, _transport.MaxFrameBytes, Stop.Token).ConfigureAwait(false);
            await Handshake.AcceptAsync(new BlockingSocketHandshakeChannel(accepted), _transport.Secret, peer, Stop.Token).ConfigureAwait(false);
            return new TcpConnection(accepted, peer, _transport.MaxFrameBytes);
        }
    }

    internal ClusterSecret Secret => secret;

    internal ILogger Logger => _logger;

    internal int MaxFrameBytes => maxFrameBytes;

    internal TlsOptions? Tls => tls;
}
