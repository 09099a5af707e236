using System.Diagnostics;

namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Where a worker's requests spent their time waiting, by cause (beyond the paper's Figure 10,
/// which only splits computing from waiting): on the network (the round trip less what the server
/// reported), at the server (queueing behind other frames plus applying or reading), held by the
/// bounded-delay gate for slower workers (consistency), and at barriers for the slowest worker
/// (stragglers). Request times are summed per request, so with many in flight they can add up to
/// more than the wall time the worker was blocked. Thread-safe.
/// </summary>
public sealed class WaitBreakdown
{
    private long _networkTicks;
    private long _serverTicks;
    private long _consistencyTicks;
    private long _barrierTicks;
    private long _requests;

    public double NetworkSeconds => Seconds(ref _networkTicks);

    public double ServerSeconds => Seconds(ref _serverTicks);

    public double ConsistencySeconds => Seconds(ref _consistencyTicks);

    public double StragglerSeconds => Seconds(ref _barrierTicks);

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>One request answered after <paramref name="totalTicks"/>, of which the server reported the other two.</summary>
    internal void AddRequest(long totalTicks, long serverTicks, long consistencyTicks)
    {
        serverTicks = Math.Min(serverTicks, totalTicks);
        consistencyTicks = Math.Min(consistencyTicks, totalTicks - serverTicks);
        Interlocked.Add(ref _networkTicks, totalTicks - serverTicks - consistencyTicks);
        Interlocked.Add(ref _serverTicks, serverTicks);
        Interlocked.Add(ref _consistencyTicks, consistencyTicks);
        Interlocked.Increment(ref _requests);
    }

    internal void AddBarrier(long ticks) => Interlocked.Add(ref _barrierTicks, ticks);

    private static double Seconds(ref long ticks) => Interlocked.Read(ref ticks) / (double)Stopwatch.Frequency;

    public override string ToString() =>
        $"network {NetworkSeconds:F3} s, server {ServerSeconds:F3} s, consistency {ConsistencySeconds:F3} s, stragglers {StragglerSeconds:F3} s over {Requests} requests";
}
