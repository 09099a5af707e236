using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Transport.Rdma;

/// <summary>
/// RDMA verbs through libpsf_native ("rdma://HOST:PORT"): reliable-connected queue pairs, small
/// frames as two-sided messages, large ones as RDMA writes with immediate into the peer's region
/// (see <see cref="RdmaConnection"/>). A TCP connection to HOST:PORT sets each one up:
/// <code>
///   connector                                  listener
///   TCP connect                      ───────▶  accept
///   HMAC handshake over TCP (Handshake: HELLO ◀─, PROOF ─▶, VERDICT ◀─)
///   create QP; [u16 64 | blob]       ───────▶  create QP; connect(blob)
///   connect(blob)                    ◀───────  [u16 64 | blob]
///   [u8 'R'] (our QP is ready)       ───────▶  frames may flow both ways
///   the TCP connection stays open: one 'G' then its end = goodbye; its end alone = death
/// </code>
/// A blob holds the queue pair number, LID, GID, PSN, receive buffer count and size, and the
/// region's address and rkey. Machines without an RDMA device (these ones: the kernel has no RDMA
/// support) get a <see cref="TransportUnavailableException"/> saying so from the constructor;
/// the CLI then falls back to TCP. The verbs path has not run on hardware; the logic above it
/// runs in the tests over the shim's in-memory fake (<see cref="RdmaVerbs.Fake"/>).
/// </summary>
public sealed class RdmaTransport : ITransport
{
    private const byte ReadyByte = (byte)'R';
    private readonly ClusterSecret _secret;
    private readonly ILogger _logger;
    private readonly RdmaOptions _options;
    private readonly int _maxFrameBytes;

    public RdmaTransport(ClusterSecret secret, ILogger? logger = null, RdmaOptions? options = null, int maxFrameBytes = TcpTransport.DefaultMaxFrameBytes)
    {
        _secret = secret;
        _logger = logger ?? NullLogger.Instance;
        _options = options ?? new RdmaOptions();
        _options.Validate();
        _maxFrameBytes = maxFrameBytes;
        if (_options.Verbs == RdmaVerbs.Device && Unavailable() is { } reason)
            throw new TransportUnavailableException(reason);
    }

    public TransportKind Kind => TransportKind.Rdma;

    /// <summary>Null when an RDMA device can be used here, else why not ("no RDMA device: this kernel has no RDMA support (errno 38)").</summary>
    public static string? Unavailable()
    {
        (int count, string? reason) = RdmaChannel.Devices();
        if (count > 0)
            return null;
        return reason is not null && reason.StartsWith("no RDMA device", StringComparison.Ordinal) ? reason : $"no RDMA device: {reason}";
    }

    public IListener Listen(Endpoint endpoint)
    {
        if (endpoint.Kind != TransportKind.Rdma)
            throw new ArgumentException($"the RDMA transport cannot listen on {endpoint}");
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
        return new Listener(this, socket, new Endpoint(TransportKind.Rdma, bound.Address.ToString(), bound.Port));
    }

    public async ValueTask<IConnection> ConnectAsync(Endpoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint.Kind != TransportKind.Rdma)
            throw new ArgumentException($"the RDMA transport cannot connect to {endpoint}");
        IPEndPoint ip = endpoint.ToIPEndPoint();
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        RdmaChannel? channel = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Handshake.Timeout * 2);
            try
            {
                await socket.ConnectAsync(ip, timeout.Token).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new ConnectionClosedException($"nothing listens on {endpoint}: {e.Message}", e);
            }
            string peer = endpoint.ToString();
            using (var stream = new NetworkStream(socket, ownsSocket: false))
            {
                await Handshake.ConnectAsync(new StreamHandshakeChannel(stream), _secret, peer, cancellationToken).ConfigureAwait(false);
                channel = CreateChannel();
                await WriteBlob(stream, channel.LocalInfo(), timeout.Token).ConfigureAwait(false);
                channel.Connect(await ReadBlob(stream, peer, timeout.Token).ConfigureAwait(false));
                await stream.WriteAsync(new[] { ReadyByte }, timeout.Token).ConfigureAwait(false);
            }
            var connection = new RdmaConnection(channel, socket, peer, _options, _maxFrameBytes);
            channel = null;
            return connection;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            channel?.Dispose();
            socket.Dispose();
            throw new AuthenticationException($"{endpoint} did not set up an RDMA connection within {2 * Handshake.Timeout.TotalSeconds:0} s");
        }
        catch
        {
            channel?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    private RdmaChannel CreateChannel()
    {
        try
        {
            return RdmaChannel.Create(_options.Verbs, _options.RecvSlots, _options.SlotBytes, _options.RegionBytes, _options.MrCacheBytes);
        }
        catch (NativeException e) when (e.Status is NativeStatus.NoDevice or NativeStatus.Unsupported)
        {
            throw new TransportUnavailableException(e.Message, e);
        }
    }

    private static async Task WriteBlob(Stream stream, byte[] blob, CancellationToken cancellationToken)
    {
        var message = new byte[2 + blob.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(message, (ushort)blob.Length);
        blob.CopyTo(message, 2);
        await stream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<byte[]> ReadBlob(Stream stream, string peer, CancellationToken cancellationToken)
    {
        var header = new byte[2];
        await stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
        int length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(header);
        if (length != RdmaChannel.InfoBytes)
            throw new AuthenticationException($"{peer} sent a queue-pair description of {length} bytes, expected {RdmaChannel.InfoBytes}: not an RDMA psf node");
        var blob = new byte[length];
        await stream.ReadExactlyAsync(blob, cancellationToken).ConfigureAwait(false);
        return blob;
    }

    private sealed class Listener : SocketListener
    {
        private readonly RdmaTransport _transport;

        public Listener(RdmaTransport transport, Socket socket, Endpoint local) : base(socket, local, transport._logger)
        {
            _transport = transport;
            Start();
        }

        protected override async Task<IConnection> SetUpAsync(Socket accepted)
        {
            accepted.NoDelay = true;
            string peer = accepted.RemoteEndPoint is IPEndPoint ip ? new Endpoint(TransportKind.Rdma, ip.Address.ToString(), ip.Port).ToString() : "rdma://?";
            RdmaChannel? channel = null;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Stop.Token);
                timeout.CancelAfter(Handshake.Timeout * 2);
                using (var stream = new NetworkStream(accepted, ownsSocket: false))
                {
                    await Handshake.AcceptAsync(new StreamHandshakeChannel(stream), _transport._secret, peer, Stop.Token).ConfigureAwait(false);
                    byte[] remote = await ReadBlob(stream, peer, timeout.Token).ConfigureAwait(false);
                    channel = _transport.CreateChannel();
                    channel.Connect(remote);
                    await WriteBlob(stream, channel.LocalInfo(), timeout.Token).ConfigureAwait(false);
                    var ready = new byte[1];
                    await stream.ReadExactlyAsync(ready, timeout.Token).ConfigureAwait(false);
                    if (ready[0] != ReadyByte)
                        throw new AuthenticationException($"refused {peer}: no ready signal after the queue-pair exchange");
                }
                var connection = new RdmaConnection(channel, accepted, peer, _transport._options, _transport._maxFrameBytes);
                channel = null;
                return connection;
            }
            catch (TransportUnavailableException e)
            {
                throw new IOException($"refused {peer}: {e.Message}", e);
            }
            catch (EndOfStreamException e)
            {
                throw new IOException($"refused {peer}: the connection ended during the RDMA setup", e);
            }
            finally
            {
                channel?.Dispose();
            }
        }
    }
}
