using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.InProc;
using ParameterServer.Fast.Transport.Rdma;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Shm;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Cli.Bench;

/// <summary>Two connected ends of one transport in this process, for the transport benchmarks.</summary>
internal sealed class TransportPair : IAsyncDisposable
{
    private readonly IListener _listener;

    private TransportPair(IListener listener, IConnection client, IConnection server)
    {
        _listener = listener;
        Client = client;
        Server = server;
    }

    public IConnection Client { get; }

    public IConnection Server { get; }

    public static async Task<TransportPair> ConnectAsync(TransportChoice choice)
    {
        ClusterSecret secret = ClusterSecret.Generate();
        (ITransport transport, Endpoint endpoint) = choice.Kind switch
        {
            TransportKind.InProc => ((ITransport)new InProcTransport(secret), Endpoint.Parse("inproc://bench")),
            TransportKind.Shm => (new ShmTransport(secret), Endpoint.Parse($"shm://psf-bench-{Environment.ProcessId}-{Guid.NewGuid():N}")),
            TransportKind.Tcp => (new TcpTransport(secret, engine: choice.Engine), Endpoint.Parse("tcp://127.0.0.1:0")),
            TransportKind.Rdma => (new RdmaTransport(secret), Endpoint.Parse("rdma://127.0.0.1:0")),
            _ => throw new ArgumentException($"psf bench: transport {choice.Kind} is not benchmarked"),
        };
        IListener listener = transport.Listen(endpoint);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        ValueTask<IConnection> accept = listener.AcceptAsync(cts.Token);
        IConnection client = await transport.ConnectAsync(listener.LocalEndpoint, cts.Token).ConfigureAwait(false);
        IConnection server = await accept.ConfigureAwait(false);
        return new TransportPair(listener, client, server);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync().ConfigureAwait(false);
        await Server.DisposeAsync().ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>A transport to benchmark; for TCP optionally a fixed engine (null: the transport's default).</summary>
internal readonly record struct TransportChoice(TransportKind Kind, TcpEngine? Engine)
{
    public override string ToString() => Engine is { } e ? $"{Kind} ({e})" : Kind.ToString();
}
