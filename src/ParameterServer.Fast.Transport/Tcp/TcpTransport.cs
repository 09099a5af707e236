using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.Tcp;

/// <summary>
/// TCP over IPv4 or IPv6: TCP_NODELAY (frames are whole messages; Nagle would only add
/// latency), kernel-autotuned buffer sizes, and the HMAC handshake on every connection before
/// the first frame. The bytes move through one of two engines (<see cref="TcpEngine"/>), .NET
/// sockets by default or the C shim's; both speak the same wire format. With
/// <see cref="TlsOptions"/> every connection is encrypted as well, through .NET's SslStream (both
/// ends must agree: a TLS node refuses a plain one and vice versa).
/// </summary>
public sealed class TcpTransport : ITransport
{
    /// <summary>1 GiB: a larger announced length is a lie or a bug, refused before any allocation.</summary>
    public const int DefaultMaxFrameBytes = 1 << 30;

    private readonly ClusterSecret _secret;
    private readonly ILogger _logger;
    private readonly int _maxFrameBytes;
    private readonly TlsOptions? _tls;

    public TcpTransport(ClusterSecret secret, ILogger? logger = null, int maxFrameBytes = DefaultMaxFrameBytes, TlsOptions? tls = null, TcpEngine? engine = null)
    {
        _secret = secret;
        _logger = logger ?? NullLogger.Instance;
        _maxFrameBytes = maxFrameBytes;
        _tls = tls;
        Engine = tls is not null ? TcpEngine.Managed : engine ?? DefaultEngine;
        if (Engine == TcpEngine.Native)
            PsfNative.EnsureAvailable(); // asked for by name: say here why it cannot be had
    }

    /// <summary>
    /// The engine of plain connections when none is asked for: .NET sockets, which measured at
    /// least as fast as the shim's engine where the transport has targets (1 MiB and 16 MiB
    /// streams, 64-byte round trips; the README has the figures), and need no native library.
    /// </summary>
    public const TcpEngine DefaultEngine = TcpEngine.Managed;

    public TransportKind Kind => TransportKind.Tcp;

    /// <summary>The engine of this transport's plain connections (TLS ones always use .NET's SslStream).</summary>
    public TcpEngine Engine { get; }

    public IListener Listen(Endpoint endpoint)
    {
        IPEndPoint ip = endpoint.ToIPEndPoint();
        if (Engine == TcpEngine.Native)
        {
            TcpAcceptor acceptor = TcpAcceptor.Listen(ip.Address.ToString(), ip.Port);
            return new NativeListener(this, acceptor, new Endpoint(TransportKind.Tcp, ip.Address.ToString(), acceptor.Port));
        }
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
        if (Engine == TcpEngine.Native)
            return await Task.Run(() => ConnectNative(ip, endpoint.ToString(), cancellationToken), cancellationToken).ConfigureAwait(false);
        if (_tls is null)
            return await Task.Run(() => ConnectManaged(ip, endpoint.ToString(), cancellationToken), cancellationToken).ConfigureAwait(false);
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(ip, cancellationToken).ConfigureAwait(false);
            return await TlsChannel.ConnectAsync(socket, _secret, endpoint.ToString(), _maxFrameBytes, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // Synchronous calls only, on a pool thread, so the socket stays blocking (see SocketHandshakeChannel).
    private async Task<IConnection> ConnectManaged(IPEndPoint ip, string peer, CancellationToken cancellationToken)
    {
        // Linux bounds a blocking connect by the send timeout.
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendTimeout = (int)Handshake.Timeout.TotalMilliseconds };
        try
        {
            try
            {
                socket.Connect(ip);
            }
            catch (SocketException e)
            {
                throw new ConnectionClosedException($"cannot connect to {peer}: {e.Message}", e);
            }
            var channel = new SocketHandshakeChannel(socket, peer);
            await Handshake.ConnectAsync(channel, _secret, peer, cancellationToken).ConfigureAwait(false);
            channel.Finish();
            return new TcpConnection(socket, peer, _maxFrameBytes);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // Blocking calls with bounded waits, on a pool thread.
    private async Task<IConnection> ConnectNative(IPEndPoint ip, string peer, CancellationToken cancellationToken)
    {
        NativeStatus status = TcpChannel.Connect(ip.Address.ToString(), ip.Port, (long)Handshake.Timeout.TotalMilliseconds * 1_000_000, out TcpChannel? channel);
        if (status != NativeStatus.Ok)
            throw new ConnectionClosedException($"cannot connect to {peer}: {status} {TcpChannel.LastError()}");
        try
        {
            await Handshake.ConnectAsync(new NativeTcpHandshakeChannel(channel!, peer), _secret, peer, cancellationToken).ConfigureAwait(false);
            return new NativeTcpConnection(channel!, peer, _maxFrameBytes);
        }
        catch
        {
            channel!.Dispose();
            throw;
        }
    }

    private sealed class Listener : SocketListener
    {
        private readonly TcpTransport _transport;

        public Listener(TcpTransport transport, Socket socket, Endpoint local) : base(socket, local, transport._logger)
        {
            _transport = transport;
            Start();
        }

        protected override async Task<IConnection> SetUpAsync(Socket accepted)
        {
            accepted.NoDelay = true;
            string peer = accepted.RemoteEndPoint is IPEndPoint ip ? new Endpoint(TransportKind.Tcp, ip.Address.ToString(), ip.Port).ToString() : "tcp://?";
            if (_transport._tls is { } tls)
                return await TlsChannel.AcceptAsync(accepted, tls, _transport._secret, peer, _transport._maxFrameBytes, Stop.Token).ConfigureAwait(false);
            var channel = new SocketHandshakeChannel(accepted, peer);
            await Handshake.AcceptAsync(channel, _transport._secret, peer, Stop.Token).ConfigureAwait(false);
            channel.Finish();
            return new TcpConnection(accepted, peer, _transport._maxFrameBytes);
        }
    }

    /// <summary>Accepts on a native listener from a thread of its own, in 100 ms waits so it notices a stop.</summary>
    private sealed class NativeListener : BackgroundListener
    {
        private const long AcceptSliceNs = 100_000_000;
        private readonly TcpTransport _transport;
        private readonly TcpAcceptor _acceptor;
        private readonly Thread _thread;

        public NativeListener(TcpTransport transport, TcpAcceptor acceptor, Endpoint local) : base(local, transport._logger)
        {
            _transport = transport;
            _acceptor = acceptor;
            _thread = new Thread(AcceptLoop) { IsBackground = true, Name = $"psf-tcpn-accept {local}" };
            _thread.Start();
        }

        private void AcceptLoop()
        {
            try
            {
                while (!Stop.IsCancellationRequested)
                {
                    NativeStatus status = _acceptor.Accept(AcceptSliceNs, out TcpChannel? accepted);
                    if (status == NativeStatus.Ok)
                        Offer(accepted!, SetUpAsync);
                    else if (status != NativeStatus.Timeout)
                        throw new NativeException(status, $"psf_tcp_accept on {LocalEndpoint}: {TcpChannel.LastError()}");
                }
            }
            catch (NativeException)
            {
                // Accepting broke (out of descriptors, say): the listener is done.
            }
            finally
            {
                _acceptor.Dispose();
                Stopped();
            }
        }

        private async Task<IConnection> SetUpAsync(TcpChannel accepted)
        {
            (string Address, int Port)? address = accepted.Peer();
            string peer = address is { } a ? new Endpoint(TransportKind.Tcp, a.Address, a.Port).ToString() : "tcp://?";
            await Handshake.AcceptAsync(new NativeTcpHandshakeChannel(accepted, peer), _transport._secret, peer, Stop.Token).ConfigureAwait(false);
            return new NativeTcpConnection(accepted, peer, _transport._maxFrameBytes);
        }

        // The accept thread frees the native listener on its way out, within one slice.
        protected override void StopAccepting()
        {
            if (_thread != Thread.CurrentThread)
                _thread.Join(TimeSpan.FromSeconds(1));
        }
    }
}
