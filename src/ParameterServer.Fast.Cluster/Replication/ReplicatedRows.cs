using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Replication;

/// <summary>
/// What a Replicate frame carries besides its rows: the range of the map the rows belong to, and
/// the (worker, request id) pairs of the pushes whose effect they contain, so every member of the
/// chain records them and a worker's retry after a failover is not applied twice.
/// <para>
/// A Replicate frame is replication after aggregation: its keys (a dense range, or a sorted key
/// list) are the rows a batch of pushes touched, its raw values their whole state after those
/// pushes — weights, then each updater state array (<see cref="Core.Tables.Table.CopyRowsOut(ReadOnlySpan{ulong}, Span{float})"/>).
/// A row several pushes touched travels once, and any updater replicates exactly, not only the
/// linear ones; the receiver overwrites the rows, so a resend of the same rows is harmless.
/// </para>
/// <code>
///   extras: [part begin u64][part end u64][pairs i32] then per pair [worker u32][request id u64]
/// </code>
/// </summary>
internal static class ReplicatedRows
{
    private const int PairBytes = 12;

    public static byte[] EncodeExtras(KeyRange part, IReadOnlyList<(uint Worker, ulong RequestId)> pushes)
    {
        var w = new PayloadWriter();
        w.U64(part.Begin);
        w.U64(part.End);
        w.I32(pushes.Count);
        foreach ((uint worker, ulong request) in pushes)
        {
            w.U32(worker);
            w.U64(request);
        }
        return w.Written.ToArray();
    }

    /// <summary>The part and the pairs; the pairs are appended to <paramref name="pushes"/> (cleared first).</summary>
    public static KeyRange DecodeExtras(ReadOnlySpan<byte> extras, List<(uint Worker, ulong RequestId)> pushes)
    {
        var r = new PayloadReader(extras, "replicated rows");
        ulong begin = r.U64("part begin"), end = r.U64("part end");
        if (end <= begin)
            throw new ProtocolException($"replicated rows: the part [{begin}, {end}) is empty");
        int n = r.Count("pushes", PairBytes);
        pushes.Clear();
        for (int i = 0; i < n; i++)
            pushes.Add((r.U32("worker"), r.U64("request id")));
        r.End();
        return new KeyRange(begin, end);
    }
}
