using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ParameterServer.Fast.Core.Interop;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.Shm;

/// <summary>
/// Shared memory between processes of one machine ("shm://NAME"), through libpsf_native.
/// A listener is a Unix-domain socket in Linux's abstract namespace, "@psf-shm/NAME" (no file to
/// clean up; it vanishes with its process). It only passes a fresh segment name; the frames and
/// the handshake travel in the segment:
/// <code>
///   connector                          listener of shm://NAME
///   connect("@psf-shm/NAME")  ───────▶ accept; psf_shm_create("psf-PID-N-RANDOM", 2 × ring)
///                             ◀─────── [u16 length | segment name]
///   psf_shm_attach(name)
///   (the name is unlinked now:
///    nobody else can attach)  ───────▶ [u8 0 = attached]         both close the socket
///   ring records of type HANDSHAKE: HELLO ◀─, PROOF ─▶, VERDICT ◀─  (HMAC, see Handshake)
///   ring records of type FRAME, both ways; GOODBYE on an orderly close
/// </code>
/// The segment's creator and attacher watch each other's pid (pidfd), so a peer killed with
/// SIGKILL is reported as closed within about 100 ms, and the memory goes when both ends are gone.
/// </summary>
public sealed class ShmTransport : ITransport
{
    /// <summary>4 MiB rings: a frame up to 2 MiB is one record read in place; 16 MiB of shared memory per connection.</summary>
    public const long DefaultRingBytes = 4 << 20;

    private static int s_segments;
    private readonly ClusterSecret _secret;
    private readonly ILogger _logger;
    private readonly long _ringBytes;
    private readonly int _maxFrameBytes;

    public ShmTransport(ClusterSecret secret, ILogger? logger = null, long ringBytes = DefaultRingBytes, int maxFrameBytes = 1 << 30)
    {
        // Fails here, naming the missing library, rather than at the first connection.
        PsfNative.EnsureAvailable();
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("the shared-memory transport needs Linux (futexes, pidfds, abstract Unix sockets)");
        _secret = secret;
        _logger = logger ?? NullLogger.Instance;
        _ringBytes = ringBytes;
        _maxFrameBytes = maxFrameBytes;
    }

    public TransportKind Kind => TransportKind.Shm;

    public IListener Listen(Endpoint endpoint)
    {
        if (endpoint.Kind != TransportKind.Shm)
            throw new ArgumentException($"the shared-memory transport cannot listen on {endpoint}");
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(Rendezvous(endpoint));
            socket.Listen(512);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new InvalidOperationException($"{endpoint} is already in use", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ShmListener(this, socket, endpoint);
    }

    public async ValueTask<IConnection> ConnectAsync(Endpoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint.Kind != TransportKind.Shm)
            throw new ArgumentException($"the shared-memory transport cannot connect to {endpoint}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Handshake.Timeout);
        ShmChannel channel;
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                await socket.ConnectAsync(Rendezvous(endpoint), timeout.Token).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new ConnectionClosedException($"nothing listens on {endpoint}: {e.Message}", e);
            }
            string segment = await ReadSegmentName(socket, endpoint, timeout.Token).ConfigureAwait(false);
            try
            {
                channel = ShmChannel.Attach(segment);
            }
            catch (NativeException e)
            {
                await socket.SendAsync(new byte[] { 1 }, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                throw new ConnectionClosedException($"{endpoint}: could not attach its segment: {e.Message}", e);
            }
            try
            {
                await socket.SendAsync(new byte[] { 0 }, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                channel.Dispose();
                throw new ConnectionClosedException($"{endpoint} hung up while offering its segment", e);
            }
        }
        try
        {
            await Handshake.ConnectAsync(new ShmHandshakeChannel(channel, endpoint.ToString()), _secret, endpoint.ToString(), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            channel.Dispose();
            throw;
        }
        return new ShmConnection(channel, endpoint.ToString(), _maxFrameBytes);
    }

    private static async Task<string> ReadSegmentName(Socket socket, Endpoint endpoint, CancellationToken cancellationToken)
    {
        var header = new byte[2];
        await ReceiveExactly(socket, header, endpoint, cancellationToken).ConfigureAwait(false);
        int length = BinaryPrimitives.ReadUInt16LittleEndian(header);
        if (length is 0 or > 200)
            throw new AuthenticationException($"{endpoint} offered a segment name of {length} bytes: not a psf shm listener");
        var name = new byte[length];
        await ReceiveExactly(socket, name, endpoint, cancellationToken).ConfigureAwait(false);
        string text = Encoding.ASCII.GetString(name);
        if (text.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            throw new AuthenticationException($"{endpoint} offered a malformed segment name");
        return text;
    }

    private static async Task ReceiveExactly(Socket socket, Memory<byte> buffer, Endpoint endpoint, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
                throw new ConnectionClosedException($"{endpoint} hung up before offering a segment");
            buffer = buffer[read..];
        }
    }

    /// <summary>The abstract socket address of a listener; long names are hashed to fit 108 bytes.</summary>
    internal static UnixDomainSocketEndPoint Rendezvous(Endpoint endpoint)
    {
        string name = endpoint.Host.Length <= 90
            ? endpoint.Host
            : "h-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(endpoint.Host)))[..40];
        return new UnixDomainSocketEndPoint("\0psf-shm/" + name);
    }

    /// <summary>A fresh, unguessable segment name for one connection.</summary>
    internal static string NewSegmentName() =>
        $"psf-{Environment.ProcessId}-{Interlocked.Increment(ref s_segments)}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant()}";

    internal ClusterSecret Secret => _secret;

    internal ILogger Logger => _logger;

    internal long RingBytes => _ringBytes;

    internal int MaxFrameBytes => _maxFrameBytes;
}
