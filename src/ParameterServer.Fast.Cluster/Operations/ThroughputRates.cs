namespace ParameterServer.Fast.Cluster.Operations;

/// <summary>
/// Per node: the last running totals it reported and the rates between its last two reports, as
/// the scheduler shows them in `psf status`. Totals that go down (a restarted node) start over.
/// Not thread-safe: the scheduler's inbox thread owns it.
/// </summary>
public sealed class ThroughputRates(TimeProvider time)
{
    private readonly Dictionary<int, (long At, double Requests, double Bytes, double RequestsPerSecond, double BytesPerSecond)> _nodes = [];

    public void Note(int node, double requests, double bytes)
    {
        long now = time.GetTimestamp();
        if (_nodes.TryGetValue(node, out var last) && time.GetElapsedTime(last.At, now).TotalSeconds is double dt and > 0
            && requests >= last.Requests && bytes >= last.Bytes)
            _nodes[node] = (now, requests, bytes, (requests - last.Requests) / dt, (bytes - last.Bytes) / dt);
        else
            _nodes[node] = (now, requests, bytes, 0, 0);
    }

    /// <summary>Requests and bytes per second between the node's last two reports; zeros before two.</summary>
    public (double RequestsPerSecond, double BytesPerSecond) Of(int node) =>
        _nodes.TryGetValue(node, out var n) ? (n.RequestsPerSecond, n.BytesPerSecond) : (0, 0);
}
