using Microsoft.Extensions.Logging;
using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Transport.Connections;
using ParameterServer.Fast.Transport.InProc;
using ParameterServer.Fast.Transport.Rdma;
using ParameterServer.Fast.Transport.Security;
using ParameterServer.Fast.Transport.Shm;
using ParameterServer.Fast.Transport.Tcp;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// The transport a node uses, chosen by the scheme of the endpoint it dials or listens on. RDMA
/// falls back to TCP on a machine without an RDMA device (every machine this was built on: the
/// kernel has no RDMA support), saying so once: the same HOST:PORT then carries TCP, and the
/// other nodes, falling back alike, reach it there.
/// </summary>
internal static class TransportFactory
{
    public static ITransport Create(TransportKind kind, ClusterSecret secret, ILogger? logger = null, TlsOptions? tls = null)
    {
        (TransportKind resolved, string? fallback) = Resolve(kind);
        if (fallback is not null)
            Say(logger, fallback);
        return resolved switch
        {
            TransportKind.Tcp => new TcpTransport(secret, logger, tls: tls),
            TransportKind.Shm => new ShmTransport(secret, logger),
            TransportKind.InProc => new InProcTransport(secret),
            TransportKind.Rdma when tls is not null => throw new UsageException("--tls encrypts TCP; the RDMA transport has no TLS (drop --tls, or use tcp://)"),
            TransportKind.Rdma => new RdmaTransport(secret, logger),
            _ => throw new ArgumentException($"transport {kind.ToString().ToLowerInvariant()} is not available in this build: use tcp or shm"),
        };
    }

    /// <summary>The kind that will carry <paramref name="kind"/>'s connections here, and a sentence when that is a fallback.</summary>
    public static (TransportKind Kind, string? Fallback) Resolve(TransportKind kind) =>
        kind == TransportKind.Rdma && RdmaTransport.Unavailable() is { } reason
            ? (TransportKind.Tcp, $"rdma: {reason}; falling back to TCP")
            : (kind, null);

    private static void Say(ILogger? logger, string fallback)
    {
        if (logger is null)
            Console.Error.WriteLine($"psf: {fallback}");
        else
            logger.LogWarning("{Fallback}", fallback);
    }
}
