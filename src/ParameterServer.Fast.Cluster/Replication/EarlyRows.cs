using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Transport.Connections;

namespace ParameterServer.Fast.Cluster.Replication;

/// <summary>
/// Replicate frames sent under a range map newer than this server's, kept (copied) until that map
/// arrives, in arrival order. A map follows within milliseconds, so this is small; a peer that
/// claims maps that never come is cut off at <see cref="MaxBytes"/> rather than filling memory.
/// Owned by the server's inbox.
/// </summary>
internal sealed class EarlyRows
{
    /// <summary>256 MiB: several large dense batches; more means the peer's map versions are not real.</summary>
    public const long MaxBytes = 256L << 20;

    private readonly List<(IConnection Connection, byte[] Bytes, uint Version)> _held = [];
    private long _bytes;

    public bool IsEmpty => _held.Count == 0;

    public void Hold(IConnection connection, ReadOnlySpan<byte> frame, uint version)
    {
        if (_bytes + frame.Length > MaxBytes)
            throw new ProtocolException($"{connection.RemoteName} sent {_bytes + frame.Length} bytes of rows under range map {version}, which never came");
        _held.Add((connection, frame.ToArray(), version));
        _bytes += frame.Length;
    }

    /// <summary>The frames sent under map <paramref name="version"/> or older, oldest first, taken out.</summary>
    public List<(IConnection Connection, byte[] Bytes)> TakeUpTo(uint version)
    {
        var due = new List<(IConnection, byte[])>();
        for (int i = 0; i < _held.Count; i++)
        {
            if (_held[i].Version > version)
                continue;
            due.Add((_held[i].Connection, _held[i].Bytes));
            _bytes -= _held[i].Bytes.Length;
            _held.RemoveAt(i--);
        }
        return due;
    }

    /// <summary>A closed connection's frames go: its forwards are resent over the next one.</summary>
    public void Forget(IConnection connection)
    {
        _held.RemoveAll(h =>
        {
            if (h.Connection != connection)
                return false;
            _bytes -= h.Bytes.Length;
            return true;
        });
    }
}
