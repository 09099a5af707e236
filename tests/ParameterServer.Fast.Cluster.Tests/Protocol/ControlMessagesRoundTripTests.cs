using ParameterServer.Fast.Cluster.Placement;
using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Tables;

namespace ParameterServer.Fast.Cluster.Tests.Protocol;

public sealed class ControlMessagesRoundTripTests
{
    [TestCase(NodeRole.Server, "tcp://127.0.0.1:4242", "")]
    [TestCase(NodeRole.Server, "shm://psf-server-7-shard1", "host-a/4242")]
    [TestCase(NodeRole.Worker, "", "")]
    public void ARegisterRequestRoundTrips(NodeRole role, string endpoint, string domain)
    {
        var request = new RegisterRequest(role, endpoint, domain);

        Assert.That(ControlMessages.DecodeRegisterRequest(ControlMessages.Encode(request)), Is.EqualTo(request));
    }

    [Test]
    public void ARegisterReplyRoundTrips()
    {
        var reply = new RegisterReply(65539, 3);

        Assert.That(ControlMessages.DecodeRegisterReply(ControlMessages.Encode(reply)), Is.EqualTo(reply));
    }

    [Test]
    public void AFailureDomainNameHasABoundedLength()
    {
        byte[] bytes = ControlMessages.Encode(new RegisterRequest(NodeRole.Server, "tcp://127.0.0.1:1", new string('d', ControlMessages.MaxDomainLength + 1)));

        Assert.That(() => ControlMessages.DecodeRegisterRequest(bytes), Throws.TypeOf<ProtocolException>().With.Message.Contains("domain"));
    }

    [Test]
    public void AFailureDomainCannotTakeTheNameOfAServersOwn()
    {
        byte[] bytes = ControlMessages.Encode(new RegisterRequest(NodeRole.Server, "tcp://127.0.0.1:1", "#65537"));

        Assert.That(() => ControlMessages.DecodeRegisterRequest(bytes), Throws.TypeOf<ProtocolException>().With.Message.Contains("#65537"));
    }

    [Test]
    public void ASchedulerCannotRegisterAsANode()
    {
        byte[] bytes = ControlMessages.Encode(new RegisterRequest(NodeRole.Scheduler, "x"));

        Assert.That(() => ControlMessages.DecodeRegisterRequest(bytes), Throws.TypeOf<ProtocolException>().With.Message.Contains("role"));
    }

    [Test]
    public void AProgressReportRoundTrips()
    {
        var done = new ProgressReport(2, 1234, 0.6931, 99_000, 12.5, 0.25, Done: true)
        {
            Metrics = new Dictionary<string, double> { ["accuracy"] = 0.875, ["auc"] = double.NaN },
        };
        var running = new ProgressReport(0, 1, double.PositiveInfinity, 0, 0, 0, Done: false);

        ProgressReport back = ControlMessages.DecodeProgress(ControlMessages.Encode(done));
        Assert.That(back with { Metrics = done.Metrics }, Is.EqualTo(done));
        Assert.That(back.Metrics["accuracy"], Is.EqualTo(0.875));
        Assert.That(back.Metrics["auc"], Is.NaN);
        Assert.That(ControlMessages.DecodeProgress(ControlMessages.Encode(running)).Metrics, Is.Empty);
    }

    [TestCaseSource(typeof(ControlMessageSamples), nameof(ControlMessageSamples.Specs))]
    public void ATableSpecRoundTrips(TableSpec spec) =>
        Assert.That(ControlMessages.DecodeTableSpec(ControlMessages.Encode(spec)), Is.EqualTo(spec));

    [TestCase(1, 1)]
    [TestCase(3, 2)]
    [TestCase(5, 5)]
    public void ARangeMapRoundTrips(int servers, int replicas)
    {
        RangeMap map = ControlMessageSamples.Map(servers, replicas);

        RangeMap decoded = ControlMessages.DecodeRangeMap(ControlMessages.Encode(map));

        Assert.That(decoded.Version, Is.EqualTo(map.Version));
        Assert.That(decoded.Workers, Is.EqualTo(map.Workers));
        Assert.That(decoded.LiveWorkers, Is.EqualTo(map.LiveWorkers));
        Assert.That(decoded.Servers, Is.EqualTo(map.Servers));
        Assert.That(decoded.Tables, Has.Count.EqualTo(map.Tables.Count));
        for (int t = 0; t < map.Tables.Count; t++)
        {
            TableLayout want = map.Tables[t], got = decoded.Tables[t];
            Assert.That(got.Id, Is.EqualTo(want.Id));
            Assert.That(got.Spec, Is.EqualTo(want.Spec));
            Assert.That(got.Ranges.Select(r => r.Range), Is.EqualTo(want.Ranges.Select(r => r.Range)), $"table '{want.Spec.Name}'");
            Assert.That(got.Ranges.Select(r => r.Chain), Is.EqualTo(want.Ranges.Select(r => r.Chain)), $"table '{want.Spec.Name}'");
        }
    }

    [Test]
    public void ARangeMapWhosePartitionHasAGapIsRejected()
    {
        RangeMap map = ControlMessageSamples.Map(3, 1);
        TableLayout bias = map.Table("bias")!;
        Assume.That(bias.Ranges, Has.Count.GreaterThan(1));
        RangeAssignment[] gap = [.. bias.Ranges];
        gap[1] = gap[1] with { Range = new(gap[1].Range.Begin + 1, gap[1].Range.End) };
        RangeMap broken = map with { Tables = [.. map.Tables.Select(t => t == bias ? t with { Ranges = gap } : t)] };

        Assert.That(() => ControlMessages.DecodeRangeMap(ControlMessages.Encode(broken)),
            Throws.TypeOf<ProtocolException>().With.Message.Contains("'bias'"));
    }

    [Test]
    public void TrailingBytesAreRejected()
    {
        byte[] bytes = [.. ControlMessages.Encode(new RegisterReply(1, 0)), 0];

        Assert.That(() => ControlMessages.DecodeRegisterReply(bytes), Throws.TypeOf<ProtocolException>().With.Message.Contains("unexpected bytes"));
    }
}
