using ParameterServer.Fast.Cluster.Operations;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;

namespace ParameterServer.Fast.Cluster.Tests.Operations;

/// <summary>
/// The status payload round-trips exactly, and like every control message a damaged or hostile one
/// only ever raises a <see cref="ProtocolException"/> naming what was wrong.
/// </summary>
public sealed class StatusMessagesTests
{
    private const int Payloads = 100_000;

    internal static ClusterStatus Sample(int servers, int workers, int tables, int replicas = 2)
    {
        var nodes = new List<NodeStatus> { new(0, NodeRole.Scheduler, 0, "tcp://127.0.0.1:7070", NodeState.Live, 0, 0, 0, 0) };
        for (int s = 0; s < servers; s++)
            nodes.Add(new NodeStatus((uint)s + 1, NodeRole.Server, s, $"tcp://127.0.0.1:{7100 + s}", s == 1 ? NodeState.Dead : NodeState.Live, 40, s == 1 ? double.NaN : 0.05 * s, 12_345.5 * (s + 1), 3.5e7));
        for (int w = 0; w < workers; w++)
            nodes.Add(new NodeStatus(65536 + (uint)w, NodeRole.Worker, w, "", w == 0 ? NodeState.Done : NodeState.Live, 40 + w, 0.1, 900, 1.25e6));
        var tableList = new List<TableStatus>();
        for (int t = 0; t < tables; t++)
        {
            KeyRange[] parts = new KeyRange(0, 1UL << (40 + t)).Split(Math.Max(1, servers * 2));
            tableList.Add(new TableStatus((uint)t + 1, t == 0 ? "weights" : $"table-{t}",
                [.. parts.Select((p, i) => new RangeStatus(p, [.. Enumerable.Range(0, replicas).Select(r => 1 + ((i + r) % Math.Max(1, servers)))]))]));
        }
        return new ClusterStatus
        {
            Taken = new DateTimeOffset(2026, 3, 4, 5, 6, 7, 890, TimeSpan.Zero), RangeMapVersion = 12, Servers = servers, Workers = workers,
            Replicas = replicas, JobClock = 40, LastCheckpointClock = 30, Nodes = nodes, Tables = tableList,
        };
    }

    [Test]
    public void AStatusRoundTripsExactly()
    {
        foreach (ClusterStatus status in new[] { Sample(0, 0, 0), Sample(1, 1, 1, 1), Sample(3, 4, 2), Sample(16, 64, 5, 3) })
        {
            byte[] encoded = StatusMessages.Encode(status);
            ClusterStatus decoded = StatusMessages.DecodeClusterStatus(encoded);
            Assert.That(decoded.Taken, Is.EqualTo(status.Taken));
            Assert.That((decoded.RangeMapVersion, decoded.Servers, decoded.Workers, decoded.Replicas, decoded.JobClock, decoded.LastCheckpointClock),
                Is.EqualTo((status.RangeMapVersion, status.Servers, status.Workers, status.Replicas, status.JobClock, status.LastCheckpointClock)));
            Assert.That(decoded.Nodes, Is.EqualTo(status.Nodes));
            Assert.That(decoded.Tables.Select(t => (t.Id, t.Name)), Is.EqualTo(status.Tables.Select(t => (t.Id, t.Name))));
            for (int t = 0; t < status.Tables.Count; t++)
            {
                Assert.That(decoded.Tables[t].Ranges.Select(r => r.Range), Is.EqualTo(status.Tables[t].Ranges.Select(r => r.Range)));
                Assert.That(decoded.Tables[t].Ranges.Select(r => r.Chain), Is.EqualTo(status.Tables[t].Ranges.Select(r => r.Chain)));
            }
            Assert.That(StatusMessages.Encode(decoded), Is.EqualTo(encoded));
        }
    }

    [Test]
    public void ATableOfTheRangeMapBecomesItsStatus()
    {
        var ring = new Cluster.Placement.HashRing([1, 2, 3], 4);
        var layout = new Cluster.Placement.TableLayout(5, Core.Tables.TableSpec.Sparse("emb"), ring.Partition(KeyRange.All, 2));
        TableStatus status = TableStatus.From(layout);
        Assert.That(status.Id, Is.EqualTo(5));
        Assert.That(status.Name, Is.EqualTo("emb"));
        Assert.That(status.Ranges.Select(r => (r.Range, r.Chain)), Is.EqualTo(layout.Ranges.Select(r => (r.Range, (IReadOnlyList<int>)r.Chain))));
        ClusterStatus decoded = StatusMessages.DecodeClusterStatus(StatusMessages.Encode(new ClusterStatus { Tables = [status] }));
        Assert.That(decoded.Tables[0].Ranges, Has.Count.EqualTo(layout.Ranges.Count));
    }

    [Test]
    public void RandomAndMutatedPayloadsOnlyEverRaiseProtocolErrors()
    {
        byte[][] seeds = [StatusMessages.Encode(Sample(0, 0, 0)), StatusMessages.Encode(Sample(2, 3, 1)), StatusMessages.Encode(Sample(3, 2, 2, 3))];
        var rng = new Random(20140607);
        int accepted = 0;
        var buffer = new List<byte>();
        for (int i = 0; i < Payloads; i++)
        {
            byte[] payload = i % 4 == 0 ? RandomBytes(rng) : Mutate(rng, seeds[rng.Next(seeds.Length)], buffer);
            try
            {
                StatusMessages.DecodeClusterStatus(payload);
                accepted++;
            }
            catch (ProtocolException e)
            {
                if (string.IsNullOrWhiteSpace(e.Message))
                    Assert.Fail($"payload {i}: an error without a message");
            }
            catch (Exception e)
            {
                Assert.Fail($"payload {i} [{Convert.ToHexString(payload)}] raised {e.GetType().Name}: {e.Message}");
            }
        }
        TestContext.Out.WriteLine($"{accepted} of {Payloads} payloads decoded");
    }

    [Test]
    public void ErrorsNameTheField()
    {
        byte[] good = StatusMessages.Encode(Sample(1, 1, 1, 1));
        Assert.That(() => StatusMessages.DecodeClusterStatus(good[..^3]), Throws.TypeOf<ProtocolException>().With.Message.Contain("chain length").And.Message.Contain("bytes left"));
        Assert.That(() => StatusMessages.DecodeClusterStatus([.. good, 0]), Throws.TypeOf<ProtocolException>().With.Message.Contain("unexpected bytes"));
        byte[] badRole = (byte[])good.Clone();
        // The first node's role: after taken (8), version (4), servers, workers, replicas (12), clocks (16), node count (4) and id (4).
        badRole[48] = 9;
        Assert.That(() => StatusMessages.DecodeClusterStatus(badRole), Throws.TypeOf<ProtocolException>().With.Message.Contain("node role"));
    }

    private static byte[] RandomBytes(Random rng)
    {
        byte[] b = new byte[rng.Next(0, 160)];
        rng.NextBytes(b);
        return b;
    }

    private static byte[] Mutate(Random rng, byte[] seed, List<byte> b)
    {
        b.Clear();
        b.AddRange(seed);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits && b.Count > 0; e++)
        {
            int at = rng.Next(b.Count);
            switch (rng.Next(7))
            {
                case 0:
                    b[at] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    b[at] = (byte)rng.Next(256);
                    break;
                case 2:
                    b[at] = (byte)(rng.Next(2) == 0 ? 0xFF : 0x80);
                    break;
                case 3:
                    b.RemoveRange(at, b.Count - at);
                    break;
                case 4:
                    b.Insert(at, (byte)rng.Next(256));
                    break;
                case 5:
                    b.RemoveAt(at);
                    break;
                default:
                    uint v = rng.Next(3) switch { 0 => 0xFFFFFFFF, 1 => 0x7FFFFFFF, _ => (uint)rng.Next() };
                    for (int k = 0; k < 4 && at + k < b.Count; k++)
                        b[at + k] = (byte)(v >> (8 * k));
                    break;
            }
        }
        return [.. b];
    }
}
