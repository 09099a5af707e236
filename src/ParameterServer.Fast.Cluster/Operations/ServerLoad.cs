using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Frames;

namespace ParameterServer.Fast.Cluster.Operations;

/// <summary>
/// A server's running totals, carried in the extras of its heartbeats (every 200 ms), from which
/// the scheduler computes the request and byte rates `psf status` shows. Totals rather than rates,
/// so a lost or late heartbeat costs resolution, never accuracy.
/// <code>
///   offset 0   u64 requests        pushes and pulls handled (not chain forwards or control)
///   offset 8   u64 bytes received  frame bytes, every connection
///   offset 16  u64 bytes sent
/// </code>
/// </summary>
public readonly record struct ServerLoad(long Requests, long BytesReceived, long BytesSent)
{
    public const int Size = 24;

    public static ServerLoad From(NodeMetrics metrics) =>
        new(metrics.Handled(RequestKind.Push) + metrics.Handled(RequestKind.Pull), metrics.BytesReceived, metrics.BytesSent);

    public byte[] Encode()
    {
        var w = new PayloadWriter();
        w.I64(Requests);
        w.I64(BytesReceived);
        w.I64(BytesSent);
        return w.Written.ToArray();
    }

    /// <exception cref="ProtocolException">The extras are not one load record, or a total is negative.</exception>
    public static ServerLoad Decode(ReadOnlySpan<byte> data)
    {
        var r = new PayloadReader(data, "server load");
        var load = new ServerLoad(r.I64("requests"), r.I64("bytes received"), r.I64("bytes sent"));
        r.End();
        if (load.Requests < 0 || load.BytesReceived < 0 || load.BytesSent < 0)
            throw new ProtocolException("server load", 0, "totals cannot be negative");
        return load;
    }
}
