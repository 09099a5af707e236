namespace ParameterServer.Fast.Cluster.Nodes;

/// <summary>
/// Node ids on the wire (a frame's sender id): the scheduler is 0, server ranks 0.. are 1..,
/// worker ranks 0.. are 65536.., so a receiver tells the role and rank from the id alone.
/// </summary>
public static class NodeIds
{
    public const uint Scheduler = 0;
    private const uint WorkerBase = 1 << 16;

    public static uint Server(int rank) => (uint)rank + 1;

    public static uint Worker(int rank) => WorkerBase + (uint)rank;

    public static bool IsWorker(uint id) => id >= WorkerBase;

    public static int WorkerRank(uint id) => (int)(id - WorkerBase);

    public static int ServerRank(uint id) => (int)id - 1;
}
