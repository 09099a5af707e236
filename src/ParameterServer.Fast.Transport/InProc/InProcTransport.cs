using System.Collections.Concurrent;
using System.Threading.Channels;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.Security;

namespace ParameterServer.Fast.Transport.InProc;

/// <summary>
/// Nodes of one process (tests, `psf local --transport inproc`). A frame the codec built in a
/// pooled pinned buffer is handed over as that buffer (<see cref="IBufferHandOff"/>): the peer's
/// receive thread handles the sender's own bytes, which the transport never copies. A frame given
/// as segments of other memory is gathered once into a pooled buffer, which is then handed over
/// the same way. Connections still run the HMAC handshake, so a node of another job in the same
/// process cannot join.
/// </summary>
public sealed class InProcTransport(ClusterSecret secret, InProcNetwork? network = null) : ITransport
{
    private readonly ConcurrentDictionary<string, InProcNetwork.IAcceptor> _listeners = (network ?? new InProcNetwork()).Listeners;

    public TransportKind Kind => TransportKind.InProc;

    public IListener Listen(Endpoint endpoint)
    {
        if (endpoint.Kind != TransportKind.InProc)
            throw new ArgumentException($"the in-process transport cannot listen on {endpoint}");
        var listener = new Listener(this, endpoint);
        if (!_listeners.TryAdd(endpoint.Host, listener))
            throw new InvalidOperationException($"{endpoint} is already in use");
        return listener;
    }

    public async ValueTask<IConnection> ConnectAsync(Endpoint endpoint, CancellationToken cancellationToken = default)
    {
        if (!_listeners.TryGetValue(endpoint.Host, out InProcNetwork.IAcceptor? listener))
            throw new ConnectionClosedException($"nothing listens on {endpoint}");
        (InProcConnection client, InProcConnection server) = InProcConnection.CreatePair(endpoint.ToString(), $"inproc://client-{Guid.NewGuid():N}");
        Task accept = listener.AcceptHandshake(server, cancellationToken);
        try
        {
            await Handshake.ConnectAsync(client.HandshakeChannel, _secret, endpoint.ToString(), cancellationToken).ConfigureAwait(false);
            await accept.ConfigureAwait(false);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return client;
    }

    private sealed class Listener(InProcTransport transport, Endpoint local) : IListener, InProcNetwork.IAcceptor
    {
        private readonly Channel<IConnection> _accepted = Channel.CreateUnbounded<IConnection>();

        public Endpoint LocalEndpoint => local;

        public ValueTask<IConnection> AcceptAsync(CancellationToken cancellationToken = default) => _accepted.Reader.ReadAsync(cancellationToken);

        public async Task AcceptHandshake(InProcConnection server, CancellationToken cancellationToken)
        {
            await Handshake.AcceptAsync(server.HandshakeChannel, transport._secret, server.RemoteName, cancellationToken).ConfigureAwait(false);
            if (!_accepted.Writer.TryWrite(server))
                throw new ConnectionClosedException($"{local} stopped listening");
        }

        public ValueTask DisposeAsync()
        {
            transport._listeners.TryRemove(local.Host, out _);
            _accepted.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }

    private readonly ClusterSecret _secret = secret;
}

/// <summary>
/// The names in-process listeners are reachable by. Transports that share one can connect to each
/// other (each still proving its own secret); by default every transport has its own.
/// </summary>
public sealed class InProcNetwork
{
    internal interface IAcceptor
    {
        Task AcceptHandshake(InProcConnection server, CancellationToken cancellationToken);
    }

    internal ConcurrentDictionary<string, IAcceptor> Listeners { get; } = new();
}
