namespace ParameterServer.Fast.Cluster.Protocol;

/// <summary>The paper's three roles; the values are wire ABI.</summary>
public enum NodeRole : byte
{
    Scheduler = 1,
    Server = 2,
    Worker = 3,
}
