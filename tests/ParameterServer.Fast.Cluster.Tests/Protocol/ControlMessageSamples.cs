using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Cluster.Tests.Protocol;

/// <summary>Valid control messages of every kind, built from real rings, to round-trip and to mutate.</summary>
internal static class ControlMessageSamples
{
    public static TableSpec[] Specs() =>
    [
        TableSpec.Sparse("weights"),
        TableSpec.Sparse("embeddings", width: 16, UpdaterKind.Adagrad) with { MaxRows = 1 << 20 },
        TableSpec.Dense("bias", new KeyRange(0, 1000), width: 3, UpdaterKind.Sgd),
        TableSpec.Dense("ünïcode ☃", new KeyRange(1UL << 40, (1UL << 40) + 5), width: 1, UpdaterKind.Ftrl) with
        {
            Initializer = new TableInitializer(InitializerKind.Normal, 0.01f, 42),
        },
        TableSpec.Sparse("adam", width: 2, UpdaterKind.Adam) with { Range = new KeyRange(100, 1UL << 50) },
    ];

    public static RangeMap Map(int servers, int replicas)
    {
        int[] ids = [.. Enumerable.Range(1, servers)];
        var ring = new HashRing(ids, virtualNodes: 4);
        TableSpec[] specs = Specs();
        var tables = specs.Select((s, i) => new TableLayout((uint)i + 1, s, ring.Partition(s.Range, replicas))).ToList();
        return new RangeMap(7, 3, [true, false, true], [.. ids.Select(id => new ServerInfo(id, $"tcp://10.0.0.{id}:{9000 + id}"))], tables);
    }
}
