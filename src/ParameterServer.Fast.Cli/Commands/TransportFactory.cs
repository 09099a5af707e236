using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.InProc;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Shm;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>The transport a node uses, chosen by the scheme of the endpoint it dials or listens on.</summary>
internal static class TransportFactory
{
    public static ITransport Create(TransportKind kind, ClusterSecret secret, ILogger? logger = null, TlsOptions? tls = null) => kind switch
    {
        TransportKind.Tcp => new TcpTransport(secret, logger, tls: tls),
        TransportKind.Shm => new ShmTransport(secret, logger),
        TransportKind.InProc => new InProcTransport(secret),
        _ => throw new ArgumentException($"transport {kind.ToString().ToLowerInvariant()} is not available in this build: use tcp or shm"),
    };
}
