using System.Net;

namespace ParameterServer.Fast.Transport.Connections;

public enum TransportKind
{
    InProc,
    Shm,
    Tcp,
    Rdma,
}

/// <summary>
/// Where a node listens: "tcp://127.0.0.1:7000", "tcp://[::1]:7000", "inproc://server-0",
/// "shm://psf-job-1-server-0". Port 0 asks the OS for a free one.
/// </summary>
public sealed record Endpoint(TransportKind Kind, string Host, int Port)
{
    public static Endpoint Parse(string text)
    {
        int sep = text.IndexOf("://", StringComparison.Ordinal);
        if (sep <= 0)
            throw new FormatException($"endpoint '{text}' lacks a scheme: use tcp://HOST:PORT, shm://NAME or inproc://NAME");
        string scheme = text[..sep].ToLowerInvariant(), rest = text[(sep + 3)..];
        TransportKind kind = scheme switch
        {
            "tcp" => TransportKind.Tcp,
            "shm" => TransportKind.Shm,
            "inproc" => TransportKind.InProc,
            "rdma" => TransportKind.Rdma,
            _ => throw new FormatException($"endpoint '{text}': unknown transport '{scheme}' (use tcp, shm, inproc or rdma)"),
        };
        if (kind is TransportKind.InProc or TransportKind.Shm)
        {
            if (rest.Length == 0 || rest.Length > 200 || rest.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
                throw new FormatException($"endpoint '{text}': a {scheme} name is 1..200 letters, digits, '-', '_' or '.'");
            return new Endpoint(kind, rest, 0);
        }
        int colon = rest.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(rest[(colon + 1)..], out int port) || port is < 0 or > 65535)
            throw new FormatException($"endpoint '{text}': expected HOST:PORT with a port in 0..65535");
        string host = rest[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
            host = host[1..^1];
        return new Endpoint(kind, host, port);
    }

    public IPEndPoint ToIPEndPoint()
    {
        if (IPAddress.TryParse(Host, out IPAddress? address))
            return new IPEndPoint(address, Port);
        IPAddress[] resolved = Dns.GetHostAddresses(Host);
        return resolved.Length > 0
            ? new IPEndPoint(resolved[0], Port)
            : throw new FormatException($"host '{Host}' does not resolve");
    }

    public override string ToString() => Kind switch
    {
        TransportKind.InProc => $"inproc://{Host}",
        TransportKind.Shm => $"shm://{Host}",
        _ => Host.Contains(':') ? $"{Kind.ToString().ToLowerInvariant()}://[{Host}]:{Port}" : $"{Kind.ToString().ToLowerInvariant()}://{Host}:{Port}",
    };
}
